"""A console sign-in (`aws login`, AWS CLI 2.36.7) from the window without a browser: the window
shows the link with its copy button and takes the code the browser shows at the end, which goes to
the CLI's `--remote` prompt."""

import hashlib
import re
import sys
import urllib.request

from conftest import E2E_DIR, Driver, e2e, wait_until

sys.path.insert(0, str(E2E_DIR))
from signin_mock import LOGIN_SESSION, SigninMock, point_cli_at  # noqa: E402

PROFILES = f"""
[profile console]
login_session = {LOGIN_SESSION}
region = us-east-1
"""


def test_the_window_takes_the_code_a_console_sign_in_ends_with(lab, bus):
    signin = SigninMock(expires_in=3600).start()
    with lab.aws_config.open("a") as f:
        f.write(PROFILES)
    point_cli_at(lab.home, signin.url, e2e.CURRENT_CLI_ROOT)
    lab.write_settings(loginTimeoutSeconds=90, loginWithoutBrowser=True)
    root = e2e.CURRENT_CLI_ROOT
    assert (root / "bin" / "aws").is_symlink(), f"AWS CLI 2.36.7 is not installed at {root}: run .ci/setup --test"
    driver = Driver(lab, prefix=["unshare", "-m", "sh", "-c", 'mount --bind "$0" /usr/local && exec "$@"', str(root)],
                    AWS_ENDPOINT_URL_SIGNIN=signin.url)
    driver.start()
    try:
        wd = driver.open_window()
        card = f'#sessions .session[data-session="{LOGIN_SESSION}"] button[data-action=refresh]'
        wait_until(lambda: wd.find_all(card), 30, "the console session's card")
        wd.click_css(card)
        prompt = wait_until(lambda: wd.js(
            "const p = document.querySelector('#prompts .prompt');"
            "return p && !document.getElementById('prompts').hidden ? "
            "{text: p.textContent, link: p.querySelector('a.prompt-url').href,"
            " input: !!p.querySelector('input[name=sign-in-code]')} : null;"), 60, "the sign-in prompt")
        assert prompt["input"], prompt
        assert "paste" in prompt["text"], prompt["text"]
        assert prompt["link"].startswith(signin.url + "/v1/authorize?"), prompt["link"]
        # A person opens the link on any device and brings back the code the last page shows.
        page = urllib.request.urlopen(prompt["link"], timeout=30).read().decode()
        code = re.search(r"<code id='code'>([^<]+)</code>", page).group(1)
        wd.type_css("#prompts input[name=sign-in-code]", code)
        wd.click_css("#prompts form.paste-code button[type=submit]")
        cache = lab.home / ".aws" / "login" / "cache" / (hashlib.sha256(LOGIN_SESSION.encode()).hexdigest() + ".json")
        wait_until(cache.exists, 60, "the CLI to write the console session's token")
        state = wait_until(lambda: wd.js(
            f"const c = document.querySelector('#sessions .session[data-session=\"{LOGIN_SESSION}\"]');"
            "return c && document.getElementById('prompts').hidden ? c.textContent : null;"), 30,
            "the prompt to go and the card to update")
        assert "valid" in state.lower(), state
        assert "console sign-in" in state and "Start a fresh session" not in state, state
        assert signin.authorized[0]["client_id"] == "arn:aws:signin:::devtools/cross-device"
        # Nothing the CLI received reaches the page.
        source = wd.source()
        secrets = [s for s in signin.secrets() if s not in signin.issued["pasted_code"]]
        assert secrets and not [s for s in secrets if s in source]
    finally:
        driver.stop()
        signin.stop()
        wait_until(lambda: not [n for n in bus.names() if "SingleInstance" in n], 15,
                   "the WebDriver-launched app to leave the bus")
