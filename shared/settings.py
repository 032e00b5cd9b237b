"""Configuration from environment variables, shared by every service.

`SLRT_NATS_URL` and `SLRT_VAR_DIR` are common; each service reads its own
`SLRT_<SERVICE>_DATABASE_URL` and `SLRT_<SERVICE>_PORT` through its subclass.
"""

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_NATS_URL = "nats://127.0.0.1:4223"


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set `service_name` and the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    service_name: ClassVar[str] = "service"

    nats_url: str = Field(DEFAULT_NATS_URL, validation_alias="SLRT_NATS_URL")
    var_dir: Path = Field(Path("var"), validation_alias="SLRT_VAR_DIR")
    log_level: str = Field("INFO", validation_alias="SLRT_LOG_LEVEL")
    log_json: bool = Field(True, validation_alias="SLRT_LOG_JSON")
    area_csv: Path | None = Field(None, validation_alias="SLRT_AREA_CSV")
    # At a village edge: the desa whose Puskesos this is (see shared/edge.py).
    village: str | None = Field(None, validation_alias="SLRT_VILLAGE")
    # At the district: the desas that run their own edge, comma-separated.
    edge_villages: str = Field("", validation_alias="SLRT_EDGE_VILLAGES")
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None

    @property
    def edge_desas(self) -> frozenset[str]:
        return frozenset(code.strip() for code in self.edge_villages.split(",") if code.strip())

    @property
    def effective_database_url(self) -> str:
        """The configured database, or this service's SQLite file under the var folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / f'{self.service_name}.db'}"
