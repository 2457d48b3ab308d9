"""Issue 16, items 7 and 12: sign-in is throttled without handing anyone a lock-out.

- five wrong passwords no longer lock an account nor end its sessions; its owner's own
  browser (a device token) still signs in while someone else guesses;
- an existing and an unknown name get the same answers, at the same cost (counted here as
  Argon2 operations, the part that took 300 ms against 6 ms);
- one client address (an IPv6 /64) is limited across every name, before any Argon2;
- a flood writes a bounded number of audit rows;
- a signed-in session must give the current password to change the password or the second
  factor, and is ended after a few wrong ones;
- breached and guessable passwords are refused (zxcvbn's list and estimate);
- Argon2 runs at most ``concurrency`` at a time.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pyotp
import pytest

from keepdown.auth import AuthService, InMemoryAuthStore, Role, totp
from keepdown.auth.devices import DeviceTokens
from keepdown.auth.passwords import Passwords, check_password
from keepdown.auth.people import InMemoryUserStore
from keepdown.auth.signin import SignedIn, SignIn, SignInPolicy
from keepdown.errors import AuthError, InvalidInput, RateLimited
from keepdown.testing import FrozenClock

PASSWORD = "violet-harbour-lantern-42"
ATTACKER = "203.0.113.7"
OWNER_IP = "198.51.100.20"


class CountingPasswords(Passwords):
    """Cheap Argon2 that counts its operations (the cost an attacker can make us pay)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024)
        self.operations = 0

    def _in_turn(self, call, *args):  # type: ignore[no-untyped-def]
        self.operations += 1
        return super()._in_turn(call, *args)


@pytest.fixture
def signin() -> SignIn:
    clock = FrozenClock()
    store = InMemoryAuthStore()
    auth = AuthService(store, store, clock=clock)
    auth.add_organisation("local")
    service = SignIn(
        InMemoryUserStore(),
        auth,
        policy=SignInPolicy(min_guesses_log10=0),
        passwords=CountingPasswords(),
        devices=DeviceTokens(b"k" * 32, clock, valid_for=timedelta(days=90)),
    )
    service.add_user("alice", PASSWORD, organisation="local", role=Role.ANALYST)
    return service


def attempt(signin: SignIn, name: str, password: str, ip: str, device: str | None = None) -> str:
    try:
        signin.sign_in(name, password, client_ip=ip, device=device)
    except (AuthError, RateLimited) as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return "ok"


def test_guessing_neither_locks_the_owner_out_nor_ends_her_sessions(signin: SignIn) -> None:
    mine = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    assert mine.device
    for _ in range(5):
        assert attempt(signin, "alice", "wrong-guess-1234", ATTACKER).startswith("AuthError")
    # the attacker, even with the right password, is held back now...
    assert attempt(signin, "alice", PASSWORD, ATTACKER).startswith("RateLimited")
    assert signin.held_until("alice") is not None
    # ...but alice's session lives on, and her own browser signs in
    assert signin.session(mine.token).user.username == "alice"
    again = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP, device=mine.device)
    assert again.device
    assert again.session.id != mine.session.id
    # a device token is for its name only
    assert attempt(signin, "bob", "whatever-12345", OWNER_IP, mine.device).startswith("AuthError")
    signin.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert attempt(signin, "alice", PASSWORD, ATTACKER) == "ok"


def test_existing_and_unknown_names_answer_alike_at_the_same_cost(signin: SignIn) -> None:
    passwords = signin.passwords
    assert isinstance(passwords, CountingPasswords)
    passwords.burn("warm")  # the dummy hash an unknown name is checked against, made once
    traces = {}
    for name, ip in (("alice", "192.0.2.1"), ("nobody", "192.0.2.2")):
        trace = []
        for _ in range(8):
            before = passwords.operations
            answer = attempt(signin, name, "not-the-password-99", ip)
            trace.append((answer, passwords.operations - before))
        traces[name] = trace
    assert traces["alice"] == traces["nobody"]
    assert [cost for _, cost in traces["alice"]] == [1] * 5 + [0] * 3
    assert all("locked" not in answer for answer, _ in traces["alice"])


def test_one_address_is_limited_across_every_name_before_any_argon2(signin: SignIn) -> None:
    passwords = signin.passwords
    assert isinstance(passwords, CountingPasswords)
    for i in range(20):
        assert attempt(signin, f"user{i}", "guess-guess-1234", "2001:db8:1:2::1").startswith(
            "AuthError"
        )
    before = passwords.operations
    # the same /64, another name, the right password: refused, and no Argon2 spent
    assert attempt(signin, "alice", PASSWORD, "2001:db8:1:2::ffff").startswith("RateLimited")
    assert passwords.operations == before
    assert attempt(signin, "alice", PASSWORD, "2001:db8:1:3::1") == "ok"


def test_a_flood_writes_a_bounded_number_of_audit_rows(signin: SignIn) -> None:
    for i in range(300):
        attempt(signin, f"name{i % 7}", "flood-flood-1234", ATTACKER)
    rows = signin.auth.audit_log.list_records(limit=1000)
    assert len(rows) <= 20 + 2
    assert [r.action for r in rows].count("web.sign_in_throttled") == 1


def test_a_trusted_device_has_its_own_budget(signin: SignIn) -> None:
    mine = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    for _ in range(5):
        attempt(signin, "alice", "wrong-guess-1234", ATTACKER)
    for i in range(10):  # someone at alice's desk guesses too
        answer = attempt(signin, "alice", f"desk-guess-{i}x", f"198.51.100.{i}", mine.device)
        assert answer.startswith("AuthError")
    assert attempt(signin, "alice", PASSWORD, OWNER_IP, mine.device).startswith("RateLimited")


def test_an_admin_unlock_releases_the_name(signin: SignIn) -> None:
    for _ in range(5):
        attempt(signin, "alice", "wrong-guess-1234", ATTACKER)
    assert attempt(signin, "alice", PASSWORD, "192.0.2.50").startswith("RateLimited")
    signin.unlock("alice")
    assert signin.held_until("alice") is None
    assert attempt(signin, "alice", PASSWORD, "192.0.2.50") == "ok"


def test_a_session_must_show_the_password_and_ends_after_guessing(signin: SignIn) -> None:
    mine = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    other = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(signin.clock.now())
    with pytest.raises(AuthError):
        signin.enrol_totp(mine, secret, code, "not-my-password-1")
    assert not signin.store.get_user("alice").totp_enabled
    with pytest.raises(AuthError):
        signin.remove_own_totp(mine, "not-my-password-2")
    for i in range(2):
        with pytest.raises(AuthError, match="current password is wrong"):
            signin.change_password(mine, f"guess-number-{i}", "a-brand-new-passphrase-7")
    with pytest.raises(AuthError, match="signed out"):
        signin.change_password(mine, "guess-number-x", "a-brand-new-passphrase-7")
    with pytest.raises(AuthError):
        signin.session(mine.token)
    assert signin.session(other.token).user.username == "alice"  # only that session ended
    enrolled = signin.enrol_totp(other, secret, code, PASSWORD)
    assert enrolled.totp_enabled


@pytest.mark.parametrize(
    "weak", ["Password123!", "Summer2026!!", "qwertyuiop12!", "Keepdown2026!", "iloveyou2024##"]
)
def test_breached_and_guessable_passwords_are_refused(weak: str) -> None:
    with pytest.raises(InvalidInput, match=r"breach|guessed"):
        check_password(weak, username="alice")


def test_strong_passwords_pass() -> None:
    for strong in ("violet-harbour-lantern-42", "xK9#mQ2v!pL7w", "analyst review queue at dawn"):
        check_password(strong, username="alice")


def test_argon2_runs_at_most_concurrency_at_a_time() -> None:
    passwords = Passwords(time_cost=1, memory_cost=1024, concurrency=2)
    real = passwords._hasher
    inside, most = 0, 0
    lock = threading.Lock()

    class SlowHasher:
        def hash(self, password: str) -> str:
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1
            return real.hash(password)

    passwords._hasher = SlowHasher()  # type: ignore[assignment]
    threads = [threading.Thread(target=passwords.hash, args=("x" * 12,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2


def test_signed_in_carries_the_device_token_only_when_fully_signed_in(signin: SignIn) -> None:
    user = signin.store.get_user("alice")
    secret = totp.new_secret()
    first = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    signin.enrol_totp(first, secret, pyotp.TOTP(secret).at(signin.clock.now()), PASSWORD)
    signin.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
    pending = signin.sign_in("alice", PASSWORD, client_ip=OWNER_IP)
    assert pending.session.pending_totp
    assert not pending.device
    done = signin.second_factor(
        pending, pyotp.TOTP(secret).at(signin.clock.now()), client_ip=OWNER_IP
    )
    assert isinstance(done, SignedIn)
    assert done.device
    assert user.username == done.user.username
