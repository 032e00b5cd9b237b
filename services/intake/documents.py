"""A case's documents: store uploads by content hash, keep the SOP checklist up to date."""

import hashlib
from pathlib import Path
from uuid import UUID

import anyio
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain import (
    DOCUMENT_LABELS,
    MAX_DOCUMENT_BYTES,
    REGISTRARS,
    DocumentType,
    missing_documents,
    sniff_content_type,
)
from services.intake.models import Case, Document, DocumentChecklist, DocumentPublic
from services.intake.service import case_in_scope, require_role
from shared.accounts import audit
from shared.auth import Principal
from shared.contracts import Category
from shared.errors import Refusal


def document_path(storage: Path, sha256: str) -> Path:
    """Files live under their hash: the same scan uploaded twice is stored once."""
    return storage / sha256[:2] / sha256


async def add_document(
    *,
    session: AsyncSession,
    storage: Path,
    principal: Principal,
    case_id: UUID,
    doc_type: DocumentType,
    content: bytes,
) -> DocumentChecklist:
    """Store an upload for a case of the operator's area and return the updated checklist."""
    require_role(principal, REGISTRARS, "mengunggah dokumen")
    case, _ = await case_in_scope(session=session, principal=principal, case_id=case_id)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise Refusal(
            413, f"Berkas terlalu besar; maksimal {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."
        )
    content_type = sniff_content_type(content[:16])
    if content_type is None:
        raise Refusal(415, "Jenis berkas tidak didukung; unggah foto JPG/PNG atau PDF.")
    sha256 = hashlib.sha256(content).hexdigest()
    await _store(document_path(storage, sha256), content)
    existing = (
        await session.exec(
            select(Document).where(
                Document.case_id == case.id,
                Document.doc_type == doc_type.value,
                Document.sha256 == sha256,
            )
        )
    ).first()
    if existing is None:
        session.add(
            Document(
                case_id=case.id,
                doc_type=doc_type.value,
                sha256=sha256,
                size=len(content),
                content_type=content_type,
                uploaded_by=principal.username,
            )
        )
        audit(
            session=session,
            principal=principal,
            action="unggah_dokumen",
            purpose=f"dokumen {doc_type.value}",
            case_id=case.id,
        )
    await session.flush()
    checklist = await checklist_of(session=session, case=case)
    case.documents_complete = checklist.complete
    session.add(case)
    await session.commit()
    return checklist


async def _store(path: Path, content: bytes) -> None:
    target = anyio.Path(path)
    if await target.exists():
        return
    await target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    await partial.write_bytes(content)
    await partial.rename(target)  # a crash mid-write never leaves a truncated file in place


async def checklist_of(*, session: AsyncSession, case: Case) -> DocumentChecklist:
    documents = list(
        (await session.exec(select(Document).where(Document.case_id == case.id))).all()
    )
    uploaded = {DocumentType(d.doc_type) for d in documents}
    missing = missing_documents(
        Category(case.category), has_no_id=case.has_no_id, uploaded=uploaded
    )
    return DocumentChecklist(
        uploaded=[
            DocumentPublic(
                doc_type=d.doc_type,
                label=DOCUMENT_LABELS[DocumentType(d.doc_type)],
                size=d.size,
                content_type=d.content_type,
                uploaded_by=d.uploaded_by,
                uploaded_at=d.uploaded_at,
            )
            for d in documents
        ],
        missing=[{"doc_type": m.value, "label": DOCUMENT_LABELS[m]} for m in missing],
        complete=not missing,
    )
