import pytest

from app.web.security import safe_next


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1\r\n",
        "evil.example",
        "",
        None,
        "/\tevil",
    ],
)
def test_off_site_targets_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/settings/admins", "/monitors/3?tab=history#top"])
def test_local_paths_are_kept(target):
    assert safe_next(target) == target
