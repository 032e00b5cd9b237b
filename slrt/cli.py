"""The `slrt` command line: up, serve, provision, dlq, user-add, generate, registry."""

import argparse
import asyncio
import gc
import os
import sys
from pathlib import Path

from shared.auth import Role
from shared.edge import LEAF_PORT
from shared.settings import DEFAULT_NATS_URL
from slrt.services import SERVICE_NAMES, spec_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slrt", description="Sistem Layanan Rujukan Terpadu")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole system on this machine")
    up.add_argument("--var-dir", type=Path, default=Path(os.environ.get("SLRT_VAR_DIR", "var")))
    up.add_argument(
        "--nats-url",
        default=os.environ.get("SLRT_EXTERNAL_NATS_URL"),
        help="use this NATS (with JetStream) instead of starting one",
    )
    up.add_argument("--nats-port", type=int, default=4223, help="port of the embedded nats-server")
    up.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server URL; each service gets its own database slrt_<service>",
    )
    up.add_argument("--postgres-prefix", default="slrt_", help="prefix of those database names")
    up.add_argument(
        "--edge",
        action="append",
        default=[],
        metavar="DESA",
        help="at the district: a desa running its own village edge (repeatable)",
    )
    up.add_argument("--leaf-port", type=int, default=LEAF_PORT, help="the hub's leaf port")
    up.add_argument("--village", metavar="DESA", help="run a village edge: this desa's intake")
    up.add_argument("--hub", metavar="URL", help="the district's leaf URL (with --village)")
    up.add_argument(
        "--no-demo",
        "--no-demo-users",
        dest="no_demo",
        action="store_true",
        help="no demo district: neither its operators (password slrt-demo) nor its synthetic "
        "registry in verval",
    )

    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=SERVICE_NAMES)

    prov = commands.add_parser("provision", help="create/update the SLRT stream and consumers")
    prov.add_argument("--nats-url", default=os.environ.get("SLRT_NATS_URL", DEFAULT_NATS_URL))
    prov.add_argument("--replicas", type=int, default=1)
    prov.add_argument(
        "--edge", action="append", default=[], metavar="DESA", help="source this village edge"
    )
    prov.add_argument("--village", metavar="DESA", help="provision a village edge's own server")

    conf = commands.add_parser("edge-config", help="print a hub's or a village edge's NATS config")
    conf.add_argument("role", choices=["hub", "village"])
    conf.add_argument("--edge", action="append", default=[], metavar="DESA=PASSWORD")
    conf.add_argument("--district-password", help="the district services' NATS password (hub)")
    conf.add_argument("--village", metavar="DESA")
    conf.add_argument("--hub-url", help="nats-leaf://desa<code>:<password>@<hub>:7422 (village)")
    conf.add_argument("--store-dir", type=Path, default=Path("/var/lib/slrt/nats"))

    dlq = commands.add_parser("dlq", help="list or replay dead-lettered messages")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("service", choices=SERVICE_NAMES)
    dlq.add_argument("--nats-url", default=os.environ.get("SLRT_NATS_URL", DEFAULT_NATS_URL))
    dlq.add_argument("--seq", type=int, help="replay only this stream sequence")

    user = commands.add_parser(
        "user-add", help="create a user in intake's, verval's, referral's or notify's database"
    )
    user.add_argument("username")
    user.add_argument(
        "--service", choices=["intake", "verval", "referral", "notify"], default="intake"
    )
    user.add_argument(
        "--kk", help="the officer's own KK (verval keeps a digest: no acting for their family)"
    )
    user.add_argument("--agency", help="a liaison's agency (destination code, e.g. bpjs_dinkes)")
    user.add_argument("--full-name", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--area", required=True, help="Kemendagri code of the area they work in")

    gen = commands.add_parser("generate", help="write a synthetic district's registry extracts")
    gen.add_argument("--people", type=int, default=10_000)
    gen.add_argument("--out", type=Path, default=Path("var/registry"))
    gen.add_argument("--seed", type=int, default=7)

    reg = commands.add_parser("registry", help="import a registry extract into verval")
    reg.add_argument("action", choices=["import"])
    reg.add_argument("kind", choices=["civil", "dtks", "programs"])
    reg.add_argument("file", type=Path)
    reg.add_argument("--database-url", help="verval's database (default: its settings)")

    args = parser.parse_args(argv)
    if args.command in ("generate", "registry"):
        from slrt import registry

        if args.command == "generate":
            return registry.generate_command(args.people, args.out, args.seed)
        from services.verval.registry import Kind

        return registry.import_command(Kind(args.kind), args.file, args.database_url)
    if args.command == "user-add":
        from slrt.users import NewUser, add_user_interactively

        new = NewUser(
            args.username, args.full_name, Role(args.role), args.area, args.agency, args.kk
        )
        return add_user_interactively(args.service, new)
    if args.command == "up":
        return _up(args)
    if args.command == "serve":
        return _serve(args.service)
    if args.command == "edge-config":
        from slrt.edges import config_text

        print(config_text(args), end="")
        return 0
    if args.command == "provision":
        from shared.edge import Edge
        from shared.provision import provision, provision_village

        if args.village:
            durables = asyncio.run(provision_village(args.nats_url, Edge.of(args.village)))
        else:
            edges = [Edge.of(code) for code in args.edge]
            durables = asyncio.run(provision(args.nats_url, replicas=args.replicas, edges=edges))
        print(f"streams and {len(durables)} consumers provisioned")
        return 0
    from slrt import deadletter

    return asyncio.run(deadletter.command(args.action, args.service, args.nats_url, args.seq))


def _up(args: argparse.Namespace) -> int:
    from slrt.up import UpOptions, run

    database_urls = {}
    if args.postgres:
        from slrt.postgres import ensure_databases

        database_urls = ensure_databases(args.postgres, SERVICE_NAMES, prefix=args.postgres_prefix)
    options = UpOptions(
        var_dir=args.var_dir,
        nats_url=args.nats_url,
        nats_port=args.nats_port,
        database_urls=database_urls,
        demo=not args.no_demo,
        edges=tuple(args.edge),
        village=args.village,
        hub_url=args.hub,
        leaf_port=args.leaf_port,
    )
    try:
        return run(options)
    except RuntimeError as exc:  # a port taken, a service that will not start: said plainly
        print(f"slrt up: {exc}", file=sys.stderr)
        return 1


def _serve(name: str) -> int:
    import uvicorn
    from uvicorn.importer import import_from_string

    spec = spec_of(name)
    port = spec.port()
    host = os.environ.get(f"{spec.env_prefix()}HOST", "127.0.0.1")
    app = import_from_string(spec.factory)()
    # What start-up built (modules, mappers, routes) lives as long as the process. Frozen,
    # the collector stops walking it at every full collection: under load those took
    # 70 ms each in intake, 4% of its CPU (bench/RESULTS.md).
    gc.collect()
    gc.freeze()
    # log_config=None keeps the service's own JSON logging (with masking) in charge.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
