"""A question after a case was closed and rated reopens it as visibly as a new case: the citizen
is told which case continues, the root shows the new status, the officers on duty are mentioned;
out of hours the case waits as a leave-message and the mention comes at the next opening."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import SHANGHAI, DutyRoom
from tests.test_consultation import body_of, has, in_thread, open_case, send, thread_reply


def root_edit(root: str, text: str):
    def check(e: dict[str, Any]) -> bool:
        content = e.get("content", {})
        return (content.get("m.relates_to") == {"rel_type": "m.replace", "event_id": root}
                and text in str(content.get("m.new_content", {}).get("body", "")))
    return check


def fail_once(target: object, method: str) -> None:
    """The next call of target.method raises, as if the bridge died there; later calls work."""
    original = getattr(target, method)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        setattr(target, method, original)
        raise RuntimeError("crash")
    setattr(target, method, failing)


def position(officer: MatrixUser, room: str, event: dict[str, Any]) -> int:
    return [e["event_id"] for e in officer.events[room]].index(event["event_id"])


async def close_and_rate(duty: DutyRoom, citizen: MatrixUser, dm: str, root: str, rating: str,
                         times: int) -> None:
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"), count=times)
    await citizen.send_text(dm, rating)
    await citizen.wait_for(dm, has(f"感谢您的评价（{rating} 分）"))


async def test_question_after_close_and_rating_reopens_visibly(duty: DutyRoom, users: UserFactory) -> None:
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "第一个问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await close_and_rate(duty, citizen, dm, root, "5", times=1)

    # Ten minutes later, within the quiet period: the same case continues, and everyone sees it;
    # even though the first attempt fails halfway (reopened and the citizen told, the officers
    # not yet): the retry finishes the announcement and sends nothing twice.
    duty.clock.set(datetime(2026, 11, 27, 10, 10, tzinfo=SHANGHAI))
    fail_once(duty.bot("consultation").officers, "reopened")
    await citizen.send_text(dm, "还有一个问题：营业执照怎么办")
    [ack] = await citizen.wait_for(dm, has("已重新打开"))
    assert ref in body_of(ack) and ack["sender"] == duty.ghost("fgw")
    await officer.wait_for(room, root_edit(root, "市民再次来信"))
    [mention] = await officer.wait_for(room, in_thread(root, "再次来信，咨询已重新打开"))
    assert mention["content"]["msgtype"] == "m.text"  # notifies, unlike a notice
    assert officer.user_id in mention["content"]["m.mentions"]["user_ids"]
    [question] = await officer.wait_for(room, in_thread(root, "营业执照怎么办"))
    assert position(officer, room, mention) < position(officer, room, question)
    await send(officer, room, thread_reply(root, "请到市场监管窗口办理"))
    await citizen.wait_for(dm, has("市场监管窗口"))
    assert len([e for e in await citizen.history(dm) if "已重新打开" in body_of(e)]) == 1
    thread = [body_of(e) for e in await officer.history(room)]
    assert len([b for b in thread if "再次来信，咨询已重新打开" in b]) == 1
    assert len([b for b in thread if "营业执照怎么办" in b]) == 1

    # Reopened, the case keeps its rating for the assessment until the citizen gives a new one;
    # closed again, the citizen is asked again and the answer replaces it.
    assert (await duty.bot("consultation").tables.latest_case(dm)).rating == 5
    duty.clock.set(datetime(2026, 11, 27, 11, 50, tzinfo=SHANGHAI))
    await close_and_rate(duty, citizen, dm, root, "4", times=2)

    # At lunch (closed): the auto-reply and the reopening with its reference; the case waits.
    duty.clock.set(datetime(2026, 11, 27, 12, 5, tzinfo=SHANGHAI))
    await citizen.send_text(dm, "午休时的补充问题")
    [waits] = await citizen.wait_for(dm, has("现在是非工作时间，您的留言已记录"))
    assert ref in body_of(waits)
    await citizen.wait_for(dm, has("14:00"))  # the out-of-hours auto-reply says when
    await officer.wait_for(room, root_edit(root, "市民再次来信"), count=2)
    await duty.runtime.idle()
    assert not [e for e in await officer.history(room) if "午休时的补充问题" in body_of(e)]

    # Duty resumes: the officers on duty are mentioned in the thread, then get the message.
    duty.clock.set(datetime(2026, 11, 27, 14, 1, tzinfo=SHANGHAI))
    await duty.bot("consultation").tick()
    [_, again] = await officer.wait_for(room, in_thread(root, "再次来信，咨询已重新打开"), count=2)
    assert officer.user_id in again["content"]["m.mentions"]["user_ids"]
    [late] = await officer.wait_for(room, in_thread(root, "午休时的补充问题"))
    assert position(officer, room, again) < position(officer, room, late)
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.ref == ref and case.status == "open" and not case.waiting
    failures = await duty.runtime.db.fetch("SELECT state, error FROM inbox_event WHERE error IS NOT NULL")
    assert [(r["state"], r["error"]) for r in failures] == [("done", "RuntimeError('crash')")]


async def test_a_bad_rating_reworked_and_closed_again_takes_the_new_rating(
    duty: DutyRoom, users: UserFactory
) -> None:
    """A bad rating reopens the case for the supervisors; once they close it again the citizen
    is asked again, and the answer is the new rating (not a message reopening the case), which
    is what the assessment counts from then on."""
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "窗口办事太慢了")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"))
    await citizen.send_text(dm, "1")
    await citizen.wait_for(dm, has("督办"))
    await officer.wait_for(room, in_thread(root, "差评"))
    assert (await duty.bot("consultation").tables.latest_case(dm)).rating == 1  # counted until replaced
    await send(officer, room, thread_reply(root, "已协调窗口，今天下午为您加急办理"))
    await citizen.wait_for(dm, has("加急办理"))
    await close_and_rate(duty, citizen, dm, root, "5", times=2)
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert (case.ref, case.status, case.rating) == (ref, "closed", 5)
    assert not [e for e in await citizen.history(dm) if "已重新打开" in body_of(e)]
    assert not [e for e in await officer.history(room) if body_of(e).endswith("：5")]  # not relayed


async def test_a_close_while_the_citizens_message_waits_for_the_shift_is_refused(
    duty: DutyRoom, users: UserFactory
) -> None:
    """Reopened at lunch, the case's thread shows it reopened but the message waits for the
    shift. An officer who closes it then has not read it: the close is refused and says when
    the message comes (before, the case was closed and the message arrived at opening under a
    "reopened" mention of a closed case, with no rating asked)."""
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "第一个问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    duty.clock.set(datetime(2026, 11, 27, 11, 50, tzinfo=SHANGHAI))
    await close_and_rate(duty, citizen, dm, root, "5", times=1)
    duty.clock.set(datetime(2026, 11, 27, 12, 5, tzinfo=SHANGHAI))
    await citizen.send_text(dm, "午休时的补充问题")
    await citizen.wait_for(dm, has("现在是非工作时间"))
    await officer.wait_for(room, root_edit(root, "市民再次来信"))
    await send(officer, room, thread_reply(root, "!办结"))
    [told] = await officer.wait_for(room, in_thread(root, "尚未办结"))
    assert ref in body_of(told) and "14:00" in body_of(told)
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.status == "open" and case.waiting
    duty.clock.set(datetime(2026, 11, 27, 14, 1, tzinfo=SHANGHAI))
    await duty.bot("consultation").tick()
    await officer.wait_for(room, in_thread(root, "午休时的补充问题"))
    await send(officer, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"), count=2)


async def test_a_reopened_or_transferred_case_nobody_answers_is_reminded_again(
    duty: DutyRoom, users: UserFactory
) -> None:
    """The reminder ladder runs for each stretch the citizen waits with nobody on the case:
    reopened after an answer, or moved to another department (whose officers are reminded, not
    the first department's). Before, a case answered once was never reminded again."""
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "第一个问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root, "已答复"))
    await citizen.wait_for(dm, has("已答复"))
    await close_and_rate(duty, citizen, dm, root, "5", times=1)
    bot = duty.bot("consultation")
    duty.clock.set(datetime(2026, 11, 27, 10, 10, tzinfo=SHANGHAI))
    await citizen.send_text(dm, "还有一个问题")
    await officer.wait_for(room, in_thread(root, "还有一个问题"))
    duty.clock.set(datetime(2026, 11, 27, 10, 21, tzinfo=SHANGHAI))
    await bot.tick()
    [reminded] = await officer.wait_for(room, in_thread(root, "仍未答复"))
    assert officer.user_id in reminded["content"]["m.mentions"]["user_ids"]
    await citizen.wait_for(dm, has("已再次提醒值班人员"))

    duty.clock.set(datetime(2026, 11, 27, 10, 22, tzinfo=SHANGHAI))
    await send(officer, room, thread_reply(root, "!转办 gat 户籍问题"))
    gat, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    [gat_root] = await gat.wait_for(gat_room, has("转入咨询"))
    duty.clock.set(datetime(2026, 11, 27, 10, 33, tzinfo=SHANGHAI))
    await bot.tick()
    [gat_reminded] = await gat.wait_for(gat_room, in_thread(gat_root["event_id"], "仍未答复"))
    assert gat.user_id in gat_reminded["content"]["m.mentions"]["user_ids"]
    await citizen.wait_for(dm, has("已再次提醒值班人员"), count=2)

    # Answered there, the case is not reminded again.
    await send(gat, gat_room, thread_reply(gat_root["event_id"], "请到派出所办理"))
    await citizen.wait_for(dm, has("派出所"))
    duty.clock.set(datetime(2026, 11, 27, 11, 30, tzinfo=SHANGHAI))
    await bot.tick()
    await duty.runtime.idle()
    assert len([e for e in await citizen.history(dm) if "已再次提醒" in body_of(e)]) == 2
    assert not [e for e in await gat.history(gat_room) if "请负责人督办" in body_of(e)]
