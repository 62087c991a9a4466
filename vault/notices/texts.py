"""The Vietnamese text of every notice. A notice names the kind of paper, the procedure and
the agency, and links back into the vault; never a paper's number, its content or the national
ID, so that an email read over a shoulder or an SMS on a shared phone gives nothing away."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime

from vault.kit import days, text
from vault.notices.inbox import Notice
from vault.notices.models import Medium, NoticeKind

VIETNAM = days.VIETNAM
# Six digits or more in an officer's note could be a paper's or a person's number.
_NUMBER = re.compile(r"\d[\d .-]{4,}\d")
MAX_NOTE = 300

_DOSSIER_TITLES = {
    "submitted": "Hồ sơ đã được gửi",
    "processing": "Hồ sơ đang được xử lý",
    "needs_supplement": "Hồ sơ cần bổ sung",
    "rejected": "Hồ sơ bị từ chối",
    "completed": "Hồ sơ đã hoàn thành",
}
_DOSSIER_SENTENCES = {
    "submitted": "đã được gửi tới {agency}.",
    "processing": "đang được {agency} xử lý.",
    "needs_supplement": "cần bổ sung theo yêu cầu của {agency}",
    "rejected": "đã bị {agency} từ chối",
    "completed": "đã được {agency} giải quyết xong.",
}
CODE_TITLE = "Mã xác nhận"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def paper_expiring(
    paper_id: uuid.UUID,
    type_name: str,
    expires_on: date,
    days_left: int,
    milestone: int,
) -> Notice:
    return Notice(
        kind=NoticeKind.PAPER_EXPIRING,
        title="Giấy tờ sắp hết hạn",
        body=(
            f"{type_name} của bạn sẽ hết hạn vào ngày {day(expires_on)} "
            f"(còn {days_left} ngày). Hãy làm thủ tục cấp đổi trước khi hết hạn để hồ sơ "
            "trực tuyến không bị trả lại."
        ),
        link=f"/papers/{paper_id}",
        dedup_key=f"expiring:{paper_id}:{expires_on.isoformat()}:{milestone}",
    )


def paper_expired(paper_id: uuid.UUID, type_name: str, expires_on: date) -> Notice:
    return Notice(
        kind=NoticeKind.PAPER_EXPIRED,
        title="Giấy tờ đã hết hạn",
        body=(
            f"{type_name} của bạn đã hết hạn từ ngày {day(expires_on)}. Giấy tờ hết hạn không "
            "dùng được cho hồ sơ trực tuyến; khi có giấy mới, hãy tải lên để thay thế."
        ),
        link=f"/papers/{paper_id}",
        dedup_key=f"expired:{paper_id}:{expires_on.isoformat()}",
    )


def dossier_status(
    event_id: int | uuid.UUID,
    dossier_id: uuid.UUID,
    status: str,
    procedure: str,
    agency: str,
    note: str | None,
) -> Notice:
    sentence = _DOSSIER_SENTENCES[status].format(agency=agency)
    body = f"Hồ sơ “{procedure}” {sentence}"
    if status in ("needs_supplement", "rejected"):
        said = masked(note.strip()) if note else ""
        body += f": {said}" if said else "."
        if said and not said.endswith((".", "!", "?", "…")):
            body += "."
    if status == "needs_supplement":
        body += " Hãy bổ sung giấy tờ và gửi lại hồ sơ."
    return Notice(
        kind=NoticeKind.DOSSIER_STATUS,
        title=_DOSSIER_TITLES[status],
        body=body,
        link=f"/dossiers/{dossier_id}",
        dedup_key=f"dossier:{dossier_id}:{event_id}",
    )


def result_deposited(
    dossier_id: uuid.UUID, paper_id: uuid.UUID, procedure: str, agency: str, type_name: str
) -> Notice:
    return Notice(
        kind=NoticeKind.RESULT_DEPOSITED,
        title="Đã có kết quả hồ sơ",
        body=(
            f"{agency} đã trả kết quả hồ sơ “{procedure}”: {type_name} đã có trong kho giấy tờ "
            "của bạn."
        ),
        link=f"/papers/{paper_id}",
        dedup_key=f"result:{dossier_id}",
    )


def shares_digest(on: date, opened: Mapping[str, int]) -> Notice:
    total = sum(opened.values())
    parts = "; ".join(f"{agency}: {count} lần" for agency, count in sorted(opened.items()))
    return Notice(
        kind=NoticeKind.SHARES_DIGEST,
        title="Cơ quan đã xem giấy tờ của bạn",
        body=(
            f"Ngày {day(on)}, giấy tờ bạn chia sẻ đã được mở {total} lần. {parts}. "
            "Nếu bạn không còn muốn chia sẻ, hãy thu hồi quyền xem."
        ),
        link="/share",
        dedup_key=f"digest:{on.isoformat()}",
    )


def new_login(device_key: str, at: datetime, device: str) -> Notice:
    local = at.astimezone(VIETNAM)
    return Notice(
        kind=NoticeKind.NEW_LOGIN,
        title="Đăng nhập từ thiết bị mới",
        body=(
            f"Tài khoản của bạn vừa được đăng nhập lúc {local:%H:%M} ngày {day(local.date())} "
            f"từ một thiết bị mới ({device}). Nếu không phải bạn, hãy đổi mật khẩu ngay."
        ),
        link="/profile",
        dedup_key=f"login:{device_key}",
    )


_SCOPE_WORDS = {
    "documents:read": "xem giấy tờ",
    "documents:write": "tải lên, thay hoặc xoá giấy tờ",
    "grants:write": "chia sẻ giấy tờ với cơ quan",
    "dossiers:write": "lập và nộp hồ sơ",
}


def scope_words(scopes: list[str]) -> str:
    """What a session allows, in the words the consent screen uses."""
    return ", ".join(_SCOPE_WORDS.get(scope, scope) for scope in scopes)


def assist_started(session_id: uuid.UUID, actor: str, scopes: list[str], until: datetime) -> Notice:
    local = until.astimezone(VIETNAM)
    return Notice(
        kind=NoticeKind.ASSIST_STARTED,
        title="Có người đang làm thay cho bạn",
        body=(
            f"{actor} bắt đầu làm thay cho bạn, được phép {scope_words(scopes)}, đến "
            f"{local:%H:%M} ngày {day(local.date())}. Bạn có thể kết thúc bất cứ lúc nào "
            "trong mục Lịch sử làm thay. Nếu bạn không đồng ý việc này, hãy kết thúc ngay."
        ),
        link="/assist/history",
        dedup_key=f"assist-start:{session_id}",
    )


def assist_ended(session_id: uuid.UUID, actor: str, done: list[str]) -> Notice:
    listed = "; ".join(done) if done else "không thực hiện thao tác nào"
    return Notice(
        kind=NoticeKind.ASSIST_ENDED,
        title="Phiên làm thay đã kết thúc",
        body=f"Phiên làm thay của {actor} đã kết thúc. Những việc đã làm: {listed}.",
        link="/assist/history",
        dedup_key=f"assist-end:{session_id}",
    )


def recovery_codes_made(notice_id: uuid.UUID, at: datetime) -> Notice:
    local = at.astimezone(VIETNAM)
    return Notice(
        kind=NoticeKind.RECOVERY_CODES_MADE,
        title="Đã tạo mã khôi phục mới",
        body=(
            f"Mười mã khôi phục mới của tài khoản bạn đã được tạo lúc {local:%H:%M} ngày "
            f"{day(local.date())}; các mã cũ không còn dùng được. Nếu không phải bạn, hãy đến "
            "bộ phận một cửa để đặt lại mật khẩu ngay."
        ),
        link="/recovery-codes",
        dedup_key=f"recovery-codes:{notice_id}",
    )


def password_reset(reset_id: uuid.UUID, at: datetime, at_counter: bool) -> Notice:
    local = at.astimezone(VIETNAM)
    how = "bằng mã do cán bộ một cửa cấp" if at_counter else "bằng một mã khôi phục của bạn"
    return Notice(
        kind=NoticeKind.PASSWORD_RESET,
        title="Mật khẩu đã được đặt lại",
        body=(
            f"Mật khẩu tài khoản của bạn đã được đặt lại {how} lúc {local:%H:%M} ngày "
            f"{day(local.date())}. Mọi phiên đăng nhập cũ đã kết thúc. Nếu không phải bạn, "
            "hãy đến bộ phận một cửa gần nhất ngay."
        ),
        link="/profile",
        dedup_key=f"reset:{reset_id}",
    )


# What was replaced, and the word for "this one" in "no longer sent to this one".
_REPLACED = {
    Medium.EMAIL: ("Email nhận thông báo", "địa chỉ này"),
    Medium.PHONE: ("Số điện thoại", "số này"),
}


def address_changed(notice_id: uuid.UUID, at: datetime, medium: Medium, *, removed: bool) -> Notice:
    """To the old email or phone, not the new: if the citizen did not make the change, it is
    the one way they hear of it."""
    local = at.astimezone(VIETNAM)
    what, this_one = _REPLACED[medium]
    done = "đã bị gỡ bỏ" if removed else "đã được đổi"
    return Notice(
        kind=NoticeKind.ADDRESS_CHANGED,
        title=f"{what} đã thay đổi",
        body=(
            f"{what} của tài khoản bạn {done} lúc {local:%H:%M} ngày {day(local.date())}; "
            f"thông báo sẽ không còn gửi tới {this_one}. Nếu không phải bạn, hãy đổi mật khẩu "
            "ngay và đến bộ phận một cửa gần nhất."
        ),
        link="/notifications/settings" if medium is Medium.EMAIL else "/profile",
        dedup_key=f"address-changed:{notice_id}",
    )


def verification_code(code: str) -> str:
    return (
        f"Mã xác nhận của bạn là {code}. Mã có hiệu lực trong 30 phút. "
        "Nếu bạn không yêu cầu, hãy bỏ qua tin này."
    )


def masked(note: str) -> str:
    short = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"
    return _NUMBER.sub("***", short)


def delegation_offered(
    delegation_id: uuid.UUID, grantor: str, scopes: list[str], last_day: date
) -> Notice:
    """To someone who has not accepted yet: the grantor's name as they typed it is masked."""
    return Notice(
        kind=NoticeKind.DELEGATION_OFFERED,
        title="Có người muốn uỷ quyền cho bạn",
        body=(
            f"{text.mask_name(grantor)} muốn uỷ quyền cho bạn làm thay, được phép "
            f"{scope_words(scopes)}, đến hết ngày {day(last_day)}. Vào mục Uỷ quyền để nhận "
            "hoặc từ chối. Nếu bạn không biết người này, hãy từ chối."
        ),
        link="/delegations",
        dedup_key=f"delegation-offer:{delegation_id}",
    )


def delegation_accepted(delegation_id: uuid.UUID, delegate: str, last_day: date) -> Notice:
    return Notice(
        kind=NoticeKind.DELEGATION_ACCEPTED,
        title="Người được uỷ quyền đã nhận",
        body=(
            f"{delegate} đã nhận uỷ quyền của bạn, đến hết ngày {day(last_day)}. Mọi việc họ "
            "làm thay bạn đều hiện trong Lịch sử làm thay; bạn có thể thu hồi uỷ quyền bất cứ "
            "lúc nào trong mục Uỷ quyền."
        ),
        link="/delegations",
        dedup_key=f"delegation-accept:{delegation_id}",
    )


_KINSHIP_WORDS = {"mother": "mẹ", "father": "cha", "guardian": "người giám hộ"}


def about_child(notice: Notice, child_id: uuid.UUID, child: str) -> Notice:
    """A reminder about a child's paper, for a guardian: a child's vault has no address of its
    own. The reminders' texts say "của bạn" once; here it is the child's. The link is the
    guardian's list of children, from where they open the child's vault."""
    return Notice(
        kind=notice.kind,
        title=notice.title,
        body=notice.body.replace("của bạn", f"của {child}", 1),
        link="/children",
        dedup_key=f"child:{child_id}:{notice.dedup_key}",
    )


def guardian_joined(guardianship_id: uuid.UUID, child: str, joiner: str, kinship: str) -> Notice:
    """To the guardians already keeping a child's vault, when another joins it."""
    role = _KINSHIP_WORDS.get(kinship, kinship)
    return Notice(
        kind=NoticeKind.GUARDIAN_JOINED,
        title="Có người cùng giữ kho giấy tờ của con bạn",
        body=(
            f"{joiner} ({role}) vừa cùng giữ kho giấy tờ của {child}, bằng giấy khai sinh đã "
            "được chứng thực. Từ nay người này làm thay được trong kho của con và thấy mọi giấy "
            "tờ trong đó. Nếu bạn không biết người này, hãy đến cơ quan gần nhất để được giúp."
        ),
        link="/children",
        dedup_key=f"guardian-join:{guardianship_id}",
    )
