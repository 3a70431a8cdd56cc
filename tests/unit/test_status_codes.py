import pytest

from app.engine.status_codes import parse_status_ranges, status_matches


@pytest.mark.parametrize(
    "spec, ranges",
    [
        ("200", ((200, 200),)),
        ("200-299,301", ((200, 299), (301, 301))),
        (" 200 - 299 , 301 ", ((200, 299), (301, 301))),
        ("100-599", ((100, 599),)),
        ("404,200-204", ((404, 404), (200, 204))),
        ("204-204", ((204, 204),)),
    ],
)
def test_parse_status_ranges_accepts_codes_and_ranges(spec, ranges):
    assert parse_status_ranges(spec) == ranges


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "Enter at least one status code or range, such as 200-299"),
        ("  ", "Enter at least one status code or range, such as 200-299"),
        ("700", "'700' is not an HTTP status code (100-599)"),
        ("99", "'99' is not an HTTP status code (100-599)"),
        ("200-600", "'600' is not an HTTP status code (100-599)"),
        ("2xx", "'2xx' is not an HTTP status code (100-599)"),
        ("ok", "'ok' is not an HTTP status code (100-599)"),
        ("200-299-300", "'299-300' is not an HTTP status code (100-599)"),
        ("299-200", "Range '299-200' is backwards; write it as 200-299"),
        ("200,,301", "'200,,301' has an empty item between commas"),
        ("200,", "'200,' has an empty item between commas"),
        ("-200", "'-200' is not a status code or range, such as 200 or 200-299"),
        ("200-", "'200-' is not a status code or range, such as 200 or 200-299"),
    ],
)
def test_parse_status_ranges_explains_bad_input(spec, message):
    with pytest.raises(ValueError) as info:
        parse_status_ranges(spec)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "code, expected",
    [(199, False), (200, True), (250, True), (299, True), (300, False), (301, True), (302, False)],
)
def test_status_matches_checks_every_range(code, expected):
    assert status_matches(code, ((200, 299), (301, 301))) is expected
