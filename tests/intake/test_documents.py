"""Document uploads: accepted types and sizes, storage by hash, the SOP checklist per category."""

from pathlib import Path

import httpx

from services.intake.domain import DocumentType, missing_documents, sniff_content_type
from shared.contracts import Category
from tests.intake.conftest import Intake

JPEG = b"\xff\xd8\xff\xe0" + b"foto rumah" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"scan" * 100
PDF = b"%PDF-1.4\n" + b"surat" * 100


async def upload(
    intake: Intake, url: str, doc_type: str, content: bytes, as_user: str = "fo-sumber"
) -> httpx.Response:
    return await intake.client.post(
        f"{url}/documents",
        data={"doc_type": doc_type},
        files={"file": ("berkas", content, "application/octet-stream")},
        headers=await intake.auth(as_user),
    )


async def test_uploads_tick_off_the_checklist_until_the_case_is_complete(intake: Intake) -> None:
    case = (await intake.register()).json()  # reaktivasi: KTP, KK and SKTM
    first = await upload(intake, case["url"], "ktp", JPEG)
    assert first.status_code == 201, first.text
    assert [m["doc_type"] for m in first.json()["missing"]] == ["kk", "sktm"]
    assert (await intake.get("/api/cases", params={"incomplete": "true"})).json()[0]["id"] == case[
        "id"
    ]
    await upload(intake, case["url"], "kk", PNG)
    last = (await upload(intake, case["url"], "sktm", PDF)).json()
    assert last["complete"] is True and last["missing"] == []
    assert [d["content_type"] for d in last["uploaded"]] == [
        "image/jpeg",
        "image/png",
        "application/pdf",
    ]
    assert (await intake.get(case["url"])).json()["documents_complete"] is True
    assert (await intake.get("/api/cases", params={"incomplete": "true"})).json() == []


async def test_the_same_file_twice_is_one_document_stored_once(
    intake: Intake, tmp_path: Path
) -> None:
    case = (await intake.register()).json()
    await upload(intake, case["url"], "ktp", JPEG)
    again = (await upload(intake, case["url"], "ktp", JPEG)).json()
    assert len(again["uploaded"]) == 1
    stored = list((tmp_path / "intake" / "documents").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 1


async def test_wrong_type_and_oversize_are_refused_in_plain_words(intake: Intake) -> None:
    case = (await intake.register()).json()
    text = await upload(intake, case["url"], "ktp", b"MZ\x90\x00 not a scan")
    assert text.status_code == 415 and "JPG/PNG atau PDF" in text.json()["message"]
    huge = await upload(intake, case["url"], "ktp", JPEG + b"0" * (5 * 1024 * 1024))
    assert huge.status_code == 413 and "maksimal 5 MB" in huge.json()["message"]
    unknown_type = await upload(intake, case["url"], "paspor", JPEG)
    assert unknown_type.status_code == 422
    checklist = (await intake.get(f"{case['url']}/documents")).json()
    assert checklist["uploaded"] == []


async def test_an_operator_of_another_desa_cannot_upload(intake: Intake) -> None:
    case = (await intake.register()).json()
    refused = await upload(intake, case["url"], "ktp", JPEG, as_user="fo-lasem")
    assert refused.status_code == 404
    supervisor = await upload(intake, case["url"], "ktp", JPEG, as_user="sup-sumber")
    assert supervisor.status_code == 403


def test_checklist_per_category_and_without_id() -> None:
    assert missing_documents(Category.HEALTH_EMERGENCY, has_no_id=False, uploaded=set()) == [
        DocumentType.KTP,
        DocumentType.KK,
    ]
    no_id = missing_documents(Category.RTLH, has_no_id=True, uploaded={DocumentType.KK})
    assert no_id[0] is DocumentType.DOMICILE_LETTER and DocumentType.KTP not in no_id
    assert DocumentType.HOUSE_FRONT in no_id and DocumentType.ELECTRICITY_BILL in no_id
    for category in Category:  # every category has its list, identity first
        assert missing_documents(category, has_no_id=False, uploaded=set())[:2] == [
            DocumentType.KTP,
            DocumentType.KK,
        ]


def test_type_is_read_from_the_bytes_not_the_name() -> None:
    assert sniff_content_type(JPEG) == "image/jpeg"
    assert sniff_content_type(PDF) == "application/pdf"
    assert sniff_content_type(b"<html>") is None
