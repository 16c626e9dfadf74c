"""bridge/long_messages.py: what is too long for one event is sent whole, as parts that fit."""

from __future__ import annotations

from bridge.long_messages import MAX_BYTES, edit_in_parts, size, split_long

THREAD = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
          "m.in_reply_to": {"event_id": "$root"}}


def test_a_message_that_fits_is_left_alone() -> None:
    content = {"msgtype": "m.text", "body": "答" * 14_000, "format": "org.matrix.custom.html",
               "formatted_body": "<p>短</p>"}
    assert split_long(content) == [content]
    image = {"msgtype": "m.image", "body": "x" * 50_000, "url": "mxc://a/b"}
    assert split_long(image) == [image]  # only text is cut


def test_the_html_goes_first_and_the_words_stay() -> None:
    text = "答" * 10_000
    content = {"msgtype": "m.text", "body": text, "format": "org.matrix.custom.html",
               "formatted_body": f"<p>{text}</p>", "m.relates_to": THREAD}
    [plain] = split_long(content)
    assert plain == {"msgtype": "m.text", "body": text, "m.relates_to": THREAD}


def test_a_long_text_is_cut_at_line_ends_into_numbered_parts_that_fit() -> None:
    lines = [f"第{i}段：" + "答" * 700 for i in range(60)]  # 42,000+ characters, 127 KB
    content = {"msgtype": "m.notice", "body": "\n".join(lines), "m.relates_to": THREAD,
               "m.mentions": {}}
    parts = split_long(content)
    assert len(parts) == 3
    for n, part in enumerate(parts, 1):
        assert size(part) <= MAX_BYTES
        assert part["body"].endswith(f"\n({n}/3)") and part["m.relates_to"] == THREAD
        assert part["msgtype"] == "m.notice" and part["m.mentions"] == {}
    rejoined = "\n".join(p["body"].rsplit("\n", 1)[0] for p in parts)
    assert rejoined == content["body"]  # every line once, in order, none split


def test_one_line_longer_than_a_part_is_cut_by_characters() -> None:
    body = "长" * 40_000 + "\n末行"
    parts = split_long({"msgtype": "m.text", "body": body})
    assert all(size(p) <= MAX_BYTES for p in parts) and len(parts) == 3
    assert "".join(p["body"].rsplit("\n", 1)[0] for p in parts).replace("\n", "") == body.replace("\n", "")


def test_an_edit_is_never_split_and_keeps_as_much_of_the_new_text_as_fits() -> None:
    new = {"msgtype": "m.text", "body": "改" * 20_000, "format": "org.matrix.custom.html",
           "formatted_body": "<p>" + "改" * 20_000 + "</p>"}
    edit = {"msgtype": "m.text", "body": "* " + "改" * 20_000, "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"}}
    [shorter] = split_long(edit)
    assert size(shorter) <= MAX_BYTES and shorter["m.relates_to"] == edit["m.relates_to"]
    assert "formatted_body" not in shorter["m.new_content"]
    assert shorter["m.new_content"]["body"].startswith("改" * 10_000)


def _edit(text: str) -> dict:
    new = {"msgtype": "m.text", "body": text}
    return {"msgtype": "m.text", "body": "* " + text, "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$$outbox:relay-in/$a"}}


def test_an_edit_of_a_message_in_parts_replaces_it_part_by_part() -> None:
    assert edit_in_parts(_edit("短"), 1, "空") is None  # one part, fits: one ordinary edit
    # Two parts become one short text: part 1 replaced, part 2 says it is empty now.
    [one, two], more = edit_in_parts(_edit("短"), 2, "空")
    assert one["m.new_content"] == {"msgtype": "m.text", "body": "短"} and not more
    assert one["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$$outbox:relay-in/$a"}
    assert two["m.new_content"]["body"] == "空"
    assert two["m.relates_to"]["event_id"] == "$$outbox:relay-in/$a/part2"
    # One part becomes three: part 1 replaced, parts 2 and 3 follow as messages.
    long = "\n".join(f"第{i}段：" + "改" * 700 for i in range(60))
    edits, more = edit_in_parts(_edit(long), 1, "空")
    assert len(edits) == 1 and len(more) == 2
    assert edits[0]["m.new_content"]["body"].endswith("\n(1/3)") and more[1]["body"].endswith("\n(3/3)")
    # Two parts stay two: each replaces its own.
    edits, more = edit_in_parts(_edit(long[:len(long) // 2]), 2, "空")
    assert [e["m.new_content"]["body"][-6:] for e in edits] == ["\n(1/2)", "\n(2/2)"] and not more
    assert all(size(e) <= MAX_BYTES for e in edits) and all(len(e["body"]) < 210 for e in edits)
