"""A mutation check by hand: break one promise at a time and see the tests notice.

Each mutant is a small edit of the product (a file, the exact original text, its
replacement) and the tests meant to catch it. For each one this script applies
the edit, runs those tests (``pytest -x``), records whether they failed
(killed) or passed (survived), and puts the file back byte for byte — always,
also on Ctrl-C or SIGTERM. It prints a kill table and exits non-zero when any
mutant survived or could not run.

    .venv/bin/python scripts/mutants.py            # every mutant
    .venv/bin/python scripts/mutants.py --list     # names and promises
    .venv/bin/python scripts/mutants.py gate-deadline relay-recheck

It refuses to start when a file it would mutate has uncommitted changes (a
restore must never lose work), and first runs the targeted tests on the intact
tree: a test that already fails would "kill" every mutant. Slow (real servers);
not part of .ci/run.

To add a mutant: append a ``Mutant`` to MUTANTS. ``original`` must occur exactly
once in the file (include a neighbouring line when needed); change one line.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
#: A mutant whose tests hang is killed by pytest-timeout long before this.
RUN_TIMEOUT = 1800


@dataclass(frozen=True)
class Mutant:
    name: str
    promise: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]


REMOTE = "tests/e2e/test_remote_access.py"
ATTACH_E2E = "tests/e2e/test_attach.py"
RELAY = "tests/core/test_attach_relay.py"
ALLOWLIST = "tests/core/test_allowlist.py"
GATE = "tests/agent/test_gate.py"
DEBUGGER = "tests/agent/test_debugger.py"
CAPTURE = "tests/agent/test_capture.py"
LINK = "tests/agent/test_link.py"
AUDIT = "tests/core/test_audit.py"
PROCESS_TREE = "tests/security/test_process_tree.py"
LOCAL_USERS = "tests/security/test_local_users.py"
STALE = "tests/security/test_stale_sessions.py"

MUTANTS: list[Mutant] = [
    # --- the debugger gate (agent) -------------------------------------------------
    Mutant(
        "gate-deadline", "the server enforces each grant's deadline itself",
        "debugdash/protocol/addresses.py",
        "        if what not in grant.what or now >= grant.deadline:",
        "        if what not in grant.what:",
        (f"{GATE}::test_grant_holds_until_its_deadline_and_not_at_it",
         f"{REMOTE}::test_a_stalled_supervisor_never_extends_access"),
    ),
    Mutant(
        "grant-what", "a grant opens only what it names (attach is not debugger)",
        "debugdash/protocol/addresses.py",
        "        if what not in grant.what or now >= grant.deadline:",
        "        if now >= grant.deadline:",
        (f"{GATE}::test_attach_only_grant_does_not_open_the_debugger",
         f"{ATTACH_E2E}::test_granted_peer_attaches_and_others_are_refused"),
    ),
    Mutant(
        "gate-local", "only 127.0.0.1 and ::1 are local; other loopback peers need a grant",
        "debugdash/protocol/addresses.py",
        "    return peer is not None and peer in LOCAL_ADDRESSES",
        "    return peer is not None and peer.is_loopback",
        (f"{DEBUGGER}::test_remote_peer_gets_plain_500_and_no_debugger_endpoint",),
    ),
    Mutant(
        "gate-toggle", "the debugger toggle off closes the gate for everyone",
        "debugdash/agent/gate.py",
        "        if not self.debugger:\n            return False\n        peer = parse_peer(remote_addr)",
        "        if False:\n            return False\n        peer = parse_peer(remote_addr)",
        (f"{GATE}::test_grants_do_nothing_while_the_debugger_is_off",
         f"{DEBUGGER}::test_toggle_is_live_on_the_same_process"),
    ),
    Mutant(
        "forwarding-headers", "only the socket peer counts; X-Forwarded-For is ignored",
        "debugdash/agent/gate.py",
        '        if gate.allows(environ.get("REMOTE_ADDR"), uid):',
        '        if gate.allows(environ.get("HTTP_X_FORWARDED_FOR") or environ.get("REMOTE_ADDR"), uid):',
        (f"{DEBUGGER}::test_forwarding_headers_never_change_the_outcome",
         f"{REMOTE}::test_forwarding_headers_naming_a_granted_address_do_not_help"),
    ),
    Mutant(
        "trusted-hosts", "the debugger answers only to advertised host names (DNS rebinding)",
        "debugdash/agent/gate.py",
        "            debugged.trusted_hosts = hosts",
        "            pass",
        (f"{REMOTE}::test_the_debugger_only_answers_to_advertised_host_names",
         f"{DEBUGGER}::test_trusted_hosts_come_from_debugdash"),
    ),
    # --- deadlines, expiry and secret rotation (supervisor) --------------------------
    Mutant(
        "expiry-pop", "the supervisor removes an entry when its deadline comes",
        "debugdash/core/allowlist.py",
        "        expired = sorted((e for e in self._entries.values() if now >= e.deadline), key=lambda e: e.deadline)",
        "        expired = sorted((e for e in self._entries.values() if now >= e.deadline + 3600), key=lambda e: e.deadline)",
        (f"{ALLOWLIST}", f"{REMOTE}::test_granted_address_gets_the_debugger_until_its_deadline"),
    ),
    Mutant(
        "rotation-on-expiry", "expiry retires the secrets and tracebacks handed out before it",
        "debugdash/core/access_control.py",
        "        if expired:\n            self._ended()",
        "        if expired:\n            self._push_grants(self.allowlist.wire_grants(), False)",
        (f"{REMOTE}::test_expiry_retires_the_secret_and_pin_cookie_a_granted_peer_obtained",),
    ),
    Mutant(
        "rotation-on-revoke", "revoke retires the secrets and tracebacks handed out before it",
        "debugdash/core/access_control.py",
        "            raise UserInputError(f\"{address} has no access to revoke; `debugdash status` lists the granted addresses\")\n        self._ended()",
        "            raise UserInputError(f\"{address} has no access to revoke; `debugdash status` lists the granted addresses\")\n        self._push_grants(self.allowlist.wire_grants(), False)",
        (f"{REMOTE}::test_revoke_retires_old_tracebacks_and_secrets",),
    ),
    Mutant(
        "attach-closed-on-expiry", "open attach connections are closed when their grant ends",
        "debugdash/core/switches.py",
        "            self.attach.close_unallowed()",
        "            pass",
        (f"{ATTACH_E2E}::test_expiry_revoke_and_attach_off_close_connections_and_free_the_port",),
    ),
    Mutant(
        "attach-what", "the attach port admits attach grants, not debugger grants",
        "debugdash/core/access_control.py",
        '        return is_local(parse_peer(peer)) or self.allowlist.allows(peer, "attach")',
        '        return is_local(parse_peer(peer)) or self.allowlist.allows(peer, "debugger")',
        (f"{ATTACH_E2E}::test_granted_peer_attaches_and_others_are_refused",),
    ),
    Mutant(
        "clock-hook", "nothing outside the process moves the clock of an installed debugdash",
        "debugdash/protocol/clock.py",
        "    return time.monotonic\n",
        "    return (lambda: time.monotonic() + float(open(__import__('os').environ['DEBUGDASH_CLOCK_OFFSET_FILE']).read())) if 'DEBUGDASH_CLOCK_OFFSET_FILE' in __import__('os').environ else time.monotonic\n",
        ("tests/core/test_clock.py",
         f"{REMOTE}::test_no_file_or_variable_moves_the_clock_of_a_normal_debugdash"),
    ),
    # --- the allowlist parser --------------------------------------------------------
    Mutant(
        "parser-leading-zero", "010.0.0.1 is refused, not read as octal or decimal",
        "debugdash/core/allowlist.py",
        '    if any(len(p) > 1 and p[0] == "0" for p in parts):',
        "    if False:",
        (f"{ALLOWLIST}::test_refuses_with_one_line_naming_the_fix",),
    ),
    Mutant(
        "parser-wide", "networks wider than /24 or /64 need --wide",
        "debugdash/core/allowlist.py",
        "    if network.prefixlen < limit and not wide:",
        "    if False:",
        (f"{ALLOWLIST}::test_wide_networks_need_wide",),
    ),
    Mutant(
        "parser-everything", "a network covering every address is refused even with --wide",
        "debugdash/core/allowlist.py",
        "    if network.prefixlen == 0:",
        "    if False:",
        (f"{ALLOWLIST}::test_everything_is_refused_even_with_wide",),
    ),
    Mutant(
        "ttl-maximum", "a grant lasts at most 8 h",
        "debugdash/core/allowlist.py",
        "    if total > maximum:",
        "    if total > 10 * maximum:",
        (f"{ALLOWLIST}::test_refused_durations", "tests/e2e/test_cli_errors.py::test_bad_input_gets_one_line_and_exit_code_2"),
    ),
    # --- the attach relay ------------------------------------------------------------
    Mutant(
        "relay-check", "the relay judges every connection before relaying a byte",
        "debugdash/core/attach_relay.py",
        "            if not self._allowed(peer):\n                return False",
        "            if False:\n                return False",
        (f"{RELAY}::test_refused_peer_never_reaches_the_backend",),
    ),
    Mutant(
        "relay-recheck", "a grant that ended while waiting for debugpy is refused",
        "debugdash/core/attach_relay.py",
        "            if connection.kicked or not self._admits(connection.peer, connection.uid):",
        "            if connection.kicked:",
        (f"{RELAY}::test_a_grant_that_ends_while_waiting_for_debugpy_is_refused",),
    ),
    Mutant(
        "relay-fail-closed", "an error while judging a peer refuses it",
        "debugdash/core/attach_relay.py",
        "        except Exception:  # noqa: BLE001 - fail closed\n            return False",
        "        except Exception:  # noqa: BLE001 - fail closed\n            return True",
        (f"{RELAY}::test_allowed_failing_counts_as_refusal",),
    ),
    # --- failing closed when the supervisor is gone ------------------------------------
    Mutant(
        "agent-fail-closed", "the server never outlives its supervisor",
        "debugdash/agent/runtime.py",
        "        self.link.start(self.apply, self.fail_closed)",
        "        self.link.start(self.apply, lambda reason: None)",
        ("tests/agent/test_lifecycle.py::test_server_exits_at_once_when_the_connection_drops",),
    ),
    Mutant(
        "link-write-fail-closed", "a failed write on the agent link fails closed",
        "debugdash/agent/link.py",
        '                self._lost(f"write failed: {e}")',
        "                pass",
        (f"{LINK}::test_a_failed_write_fails_closed_even_while_reading_still_works",),
    ),
    Mutant(
        "link-eof-fail-closed", "the end of the agent link fails closed",
        "debugdash/agent/link.py",
        '                self._lost("connection closed")',
        "                pass",
        (f"{LINK}::test_commands_are_applied_and_eof_fails_closed",),
    ),
    # --- the process tree ----------------------------------------------------------------
    Mutant(
        "tree-below-the-server", "stopping ends what the server started, even when the server cannot clean up",
        "debugdash/core/process.py",
        "        return psutil.Process(pid).children(recursive=True)",
        "        return []",
        (f"{PROCESS_TREE}::test_a_restart_ends_the_children_of_a_server_stuck_in_c_code",),
    ),
    Mutant(
        "tree-descendants", "stopping also ends descendants that left the group",
        "debugdash/core/process.py",
        "    return [p for p in _alive([*(known or []), *descendants(pid)]) if p.pid != pid]",
        "    return []",
        ("tests/e2e/test_supervision.py", f"{ATTACH_E2E}::test_nothing_of_attach_survives_sigkill_of_debugdash", PROCESS_TREE),
    ),
    # --- text from the app or the network -----------------------------------------------
    Mutant(
        "escapes", "terminal escape sequences never reach a terminal",
        "debugdash/protocol/text.py",
        '        text = _ESCAPES.sub("", text)',
        "        pass",
        ("tests/e2e/test_output.py::test_display_text_strips_controls_but_keeps_markup_literal",
         "tests/e2e/test_output.py::test_binary_and_escape_sequences_arrive_as_plain_safe_text"),
    ),
    Mutant(
        "controls", "control characters (BEL, C1) are neutralised",
        "debugdash/protocol/text.py",
        '        text = _CONTROLS.sub("\\ufffd", text.replace("\\r", ""))',
        '        text = text.replace("\\r", "")',
        ("tests/e2e/test_output.py::test_display_text_strips_controls_but_keeps_markup_literal",
         "tests/e2e/test_output.py::test_binary_and_escape_sequences_arrive_as_plain_safe_text"),
    ),
    # --- what a traceback shows -------------------------------------------------------------
    Mutant(
        "chain-cause", "raise ... from e keeps the cause in the chain",
        "debugdash/agent/capture.py",
        "        if current.__cause__ is not None:",
        "        if False:",
        (f"{CAPTURE}::test_chain_is_root_first_with_relations",),
    ),
    Mutant(
        "chain-suppressed", "raise ... from None leaves the context out",
        "debugdash/agent/capture.py",
        "        elif current.__context__ is not None and not current.__suppress_context__:",
        "        elif current.__context__ is not None:",
        (f"{CAPTURE}::test_suppressed_context_is_left_out",),
    ),
    Mutant(
        "repr-guard", "a value whose repr fails (a huge int, a broken container) shows as <unrepresentable T>",
        "debugdash/agent/capture.py",
        "    except Exception:\n        text = _unrepresentable(value)",
        "    except ZeroDivisionError:\n        text = _unrepresentable(value)",
        (f"{CAPTURE}::test_frames_hold_source_and_safe_locals",
         f"{CAPTURE}::test_values_that_break_repr_itself_are_unrepresentable_not_fatal"),
    ),
    Mutant(
        "repr-guard-in-containers", "one bad element does not hide the rest of a container",
        "debugdash/agent/capture.py",
        "        except Exception:\n            return _unrepresentable(x)",
        "        except ZeroDivisionError:\n            return _unrepresentable(x)",
        (f"{CAPTURE}::test_safe_repr_bounds_containers_and_survives_broken_elements",
         f"{CAPTURE}::test_a_dict_local_with_one_bad_value_shows_the_rest"),
    ),
    # --- the audit log -------------------------------------------------------------------------
    Mutant(
        "audit-refusals", "refused access is audited",
        "debugdash/core/audit.py",
        '            return (current_user(), "refuse", event.address, event.what, event.detail)',
        "            return None",
        (AUDIT, f"{REMOTE}::test_every_access_change_and_refusal_is_audited_without_the_pin"),
    ),
    Mutant(
        "audit-one-line", "a hostile detail cannot forge audit fields or lines",
        "debugdash/core/audit.py",
        '    return display_text(value, limit=_FIELD_LIMIT).replace("\\t", " ") or "-"',
        '    return display_text(value, limit=_FIELD_LIMIT) or "-"',
        (f"{AUDIT}::test_hostile_detail_stays_on_one_line",),
    ),
    Mutant(
        "audit-private", "the audit log is readable by its user only",
        "debugdash/core/audit.py",
        "                os.fchmod(fd, 0o600)",
        "                pass",
        (f"{AUDIT}::test_lax_permissions_are_tightened",),
    ),
    # --- the command line -------------------------------------------------------------------------
    Mutant(
        "cli-exit-code", "bad input exits with code 2",
        "debugdash/cli.py",
        "            sys.exit(2)",
        "            sys.exit(1)",
        ("tests/e2e/test_cli_errors.py::test_bad_input_gets_one_line_and_exit_code_2",),
    ),
    # --- other Unix users, the debug adapter, the PIN, leftovers (issue 9) ------------------------
    Mutant(
        "local-is-same-uid", "a loopback peer of another Unix user is not local",
        "debugdash/agent/gate.py",
        "        if is_local(peer) and uid is not None and uid == self.owner:",
        "        if is_local(peer):",
        (f"{LOCAL_USERS}::test_another_user_on_loopback_gets_the_plain_app_and_cannot_burn_the_pin",),
    ),
    Mutant(
        "relay-same-uid", "the attach relay admits another user's loopback socket only with a grant",
        "debugdash/core/attach_relay.py",
        "            return not is_local(parse_peer(peer)) or uid == self._owner or bool(self._granted(peer))",
        "            return True",
        (f"{LOCAL_USERS}::test_another_user_is_refused_by_the_attach_relay_unless_granted",),
    ),
    Mutant(
        "hub-holder-check", "only the server's own sockets reach the debugger inside it",
        "debugdash/core/attach_hub.py",
        "            for pid in self._debuggee_pids() if uid == owner_uid() else ():",
        "            return \"session\", os.getpid(), None\n            for pid in ():",
        (f"{LOCAL_USERS}::test_no_port_of_the_session_lets_another_user_or_address_reach_the_debugger",),
    ),
    Mutant(
        "pin-rotates-when-access-ends", "a revoked or expired grant takes the PIN with it",
        "debugdash/core/pins.py",
        "        if rotate:\n            self.pin, self.cookie = wire.fresh_pin(), wire.fresh_pin_cookie()",
        "        if False:\n            self.pin, self.cookie = wire.fresh_pin(), wire.fresh_pin_cookie()",
        ("tests/e2e/test_pin_lifetime.py::test_revoking_a_grant_changes_the_pin_the_grantee_may_have_seen",),
    ),
    Mutant(
        "pin-kept-across-reloads", "one PIN per session: a reload keeps the browser unlocked",
        "debugdash/core/pins.py",
        "        configure.pin, configure.pin_cookie = self.pin, self.cookie",
        "        configure.pin, configure.pin_cookie = wire.fresh_pin(), self.cookie",
        ("tests/e2e/test_pin_lifetime.py::test_the_pin_and_the_browsers_unlock_survive_a_reload_and_a_restart",),
    ),
    Mutant(
        "neutralise-at-decode", "every string of every decoded event is neutralised",
        "debugdash/protocol/codec.py",
        "        return neutralise(value, multiline=multiline)",
        "        return value",
        ("tests/security/test_event_boundary.py", "tests/security/test_injection.py"),
    ),
    Mutant(
        "guard-ends-the-tree", "SIGKILL of debugdash: the guard ends everything the app started",
        "debugdash/agent/guard.py",
        "        members = [pid for pid in descendants(root) if pid not in spared]",
        "        members = []",
        (PROCESS_TREE,),
    ),
    Mutant(
        "sweep-only-mine", "stale leftovers of another user are never swept",
        "debugdash/core/runtime.py",
        "    return kind(info.st_mode) and info.st_uid == os.getuid()",
        "    return kind(info.st_mode)",
        (f"{STALE}::test_another_users_leftovers_are_never_touched",),
    ),
    Mutant(
        "json-pin-omitted", "the PIN stays out of --json output unless asked",
        "debugdash/headless.py",
        '    if "pin" in data and not with_pin:',
        '    if "pin" in data and with_pin:',
        ("tests/security/test_pin_files.py",),
    ),
    Mutant(
        "mcp-narrows-only", "a coding agent may turn the debugger off, never on",
        "debugdash/mcp/refusals.py",
        'ALLOWED_TOGGLES = {("debugger", False), ("reloader", True), ("reloader", False), ("debug", False)}',
        'ALLOWED_TOGGLES = {("debugger", False), ("debugger", True), ("reloader", True), ("reloader", False), ("debug", False)}',
        ("tests/mcp/test_agent_session.py::test_no_tool_grants_revokes_reveals_the_pin_or_widens_access",),
    ),
    Mutant(
        "mcp-never-the-pin", "no tool of `debugdash mcp` shows the debugger PIN",
        "debugdash/mcp/render.py",
        '        "url": answer.url,',
        '        "url": answer.url, "pin": answer.pin,',
        ("tests/mcp/test_agent_session.py::test_no_tool_grants_revokes_reveals_the_pin_or_widens_access",),
    ),
    Mutant(
        "mcp-load-error-no-fix", "wait_for_reload never reports the error page's server as a fix",
        "debugdash/core/observe.py",
        "                continue  # the worker that could not load the app serves its error page: not a fix",
        "                pass",
        ("tests/core/test_observe.py", "tests/mcp/test_agent_session.py::test_wait_for_reload_reports_a_load_error_even_when_it_came_before_the_call"),
    ),
    Mutant(
        "mcp-safe-replay", "an agent replays GET and HEAD only, unless the human started with --mcp-allow-unsafe-replay",
        "debugdash/mcp/request_tools.py",
        'SAFE_REPLAY = ("GET", "HEAD")',
        'SAFE_REPLAY = ("GET", "HEAD", "POST")',
        ("tests/mcp/test_agent_session.py::test_a_post_is_replayed_only_when_the_human_allowed_unsafe_replays",),
    ),
    Mutant(
        "mcp-eval-listed-if-allowed", "eval is offered to an agent only with --mcp-allow-eval",
        "debugdash/mcp/request_tools.py",
        "    if allow_eval:",
        "    if True:",
        ("tests/mcp/test_agent_session.py::test_an_agent_reads_the_failure_fixes_the_file_and_sees_the_replay_succeed",),
    ),
    Mutant(
        "mcp-audit-redacted", "an agent's arguments are redacted in the audit log",
        "debugdash/mcp/calls.py",
        "    given = {name: redact_assignments(value) if isinstance(value, str) else value for name, value in redact_json_value(given).items()}",
        "    given = given",
        ("tests/mcp/test_agent_session.py::test_eval_is_offered_only_with_the_humans_flag_and_runs_in_the_failed_frame",),
    ),
    Mutant(
        "redact-headers", "credential headers are redacted in every face (issue 12)",
        "debugdash/protocol/redact.py",
        "    return [(name, REDACTED if is_secret_header(name) else value) for name, value in headers]",
        "    return [(name, value) for name, value in headers]",
        ("tests/requests/test_redaction.py",),
    ),
    Mutant(
        "redact-locals", "traceback locals named like secrets are redacted at capture (issue 12)",
        "debugdash/agent/capture.py",
        "        result[name] = REDACTED if is_secret_name(name) else safe_repr(value)",
        "        result[name] = safe_repr(value)",
        ("tests/requests/test_redaction.py",),
    ),
    Mutant(
        "replay-confirm", "a replay of a POST needs --yes (issue 12)",
        "debugdash/core/request_actions.py",
        "        if request.method.upper() not in SAFE_METHODS and not confirmed:",
        "        if False:",
        ("tests/requests/test_verify_on_reload.py",),
    ),
    Mutant(
        "verify-get-only", "verify on reload replays GET and HEAD only (issue 12)",
        "debugdash/core/verify.py",
        'VERIFIED_METHODS = ("GET", "HEAD")',
        'VERIFIED_METHODS = ("GET", "HEAD", "POST")',
        ("tests/requests/test_verify_on_reload.py",),
    ),
    Mutant(
        "error-count-rise", "a burst is counted exactly: each event adds the rise of its group's running count",
        "debugdash/core/state.py",
        "        return max(0, count - known)",
        "        return 1",
        ("tests/test_state.py", "tests/e2e/test_error_burst.py"),
    ),
    Mutant(
        "newest-error-kept", "after a burst the newest occurrence is sent whole once its group's interval passed",
        "debugdash/agent/error_groups.py",
        "                self._emit(occurrence.event(group.pending_count))  # its count covers every folded repeat",
        "                pass",
        ("tests/agent/test_error_groups.py", "tests/e2e/test_error_burst.py"),
    ),
    Mutant(
        "forwarded-line-escapes", "--json writes an agent's line as it came only when nothing in it needs neutralising",
        "debugdash/core/agent_lines.py",
        '    return line.isascii() and b"\\x7f" not in line and _CHANGED_BY_NEUTRALISE.search(line) is None',
        '    return line.isascii() and b"\\x7f" not in line',
        ("tests/core/test_agent_lines.py", "tests/security/test_injection.py"),
    ),
    # --- the console (issue 13) ---------------------------------------------------------
    Mutant(
        "control-peer-uid", "only the session's own user reaches the control socket (and so the console)",
        "debugdash/core/control.py",
        "    return _name_of(uid) if uid == os.getuid() else None",
        "    return _name_of(uid)",
        ("tests/security/test_console_access.py::test_another_user_cannot_evaluate",),
    ),
    Mutant(
        "frames-bound", "only the newest keep_frames failing requests hold their frames",
        "debugdash/agent/frames.py",
        "            while len(self._kept) > self.limit:",
        "            while len(self._kept) > self.limit * 1000:",
        ("tests/e2e/test_console.py::test_only_the_newest_twenty_keep_frames_and_a_reload_releases_them_all",
         "tests/e2e/test_console.py::test_the_server_memory_stays_bounded_under_a_thousand_failures"),
    ),
    Mutant(
        "console-interrupt", "Ctrl-C interrupts a runaway evaluation in the server",
        "debugdash/agent/console.py",
        "            _async_raise(self._thread, KeyboardInterrupt)",
        "            pass",
        ("tests/agent/test_console.py::test_a_runaway_evaluation_is_interrupted_from_another_thread",
         "tests/tui/test_console.py::test_ctrl_c_interrupts_a_runaway_loop_while_other_requests_are_served"),
    ),
    Mutant(
        "eval-audit-redacted", "the audit record of an evaluation never holds a secret-named value",
        "debugdash/core/console.py",
        "                frame=f\"frame {reply.frame}: {where}\", code=redact_assignments(code), raised=reply.raised,",
        "                frame=f\"frame {reply.frame}: {where}\", code=code, raised=reply.raised,",
        ("tests/e2e/test_console.py::test_each_evaluation_is_an_audit_record_with_its_code_redacted",),
    ),
    Mutant(
        "tui-redacted-unless-revealed", "the Requests tab shows secrets only for the one request revealed (issue 12)",
        "debugdash/tui/widgets/requests_pane.py",
        "            detail = await self._load(record.id, reveal=reveal)",
        "            detail = await self._load(record.id, reveal=True)",
        ("tests/tui/test_requests_tab.py",),
    ),
    Mutant(
        "tui-replay-confirm", "R on a POST asks before sending it again (issue 12)",
        "debugdash/tui/request_keys.py",
        "        if not self.sup.replay_needs_confirmation(request_id):",
        "        if True:",
        ("tests/tui/test_requests_live.py",),
    ),
    Mutant(
        "record-at-body-end", "a request's record does not depend on the client staying connected (issue 12)",
        "debugdash/agent/requests.py",
        "            # and the record was lost with it.\n            self._finish()",
        "            # and the record was lost with it.\n            pass",
        ("tests/requests/test_record_after_hang_up.py",),
    ),
    Mutant(
        "reattach-no-replay", "a new worker gets the attached IDE's breakpoints (issue 14)",
        "debugdash/core/attach_hub.py",
        "            if owner is not None and owner.config.configured:\n                debuggee.replaying = True",
        "            if False:\n                debuggee.replaying = True",
        ("tests/e2e/test_reattach.py::test_breakpoints_survive_a_reload_on_the_same_connection",),
    ),
    Mutant(
        "reattach-serves-before-configured", "the first request after a save stops at the breakpoints",
        "debugdash/agent/runtime.py",
        "            attach.configured.wait(attach.CONFIGURE_WAIT)",
        "            pass",
        ("tests/e2e/test_reattach.py::test_breakpoints_survive_a_reload_on_the_same_connection",),
    ),
    Mutant(
        "reload-not-held-while-paused", "a save while the IDE holds the app stopped waits",
        "debugdash/agent/runtime.py",
        "        reloader.AgentHooks.held = staticmethod(attach.paused)",
        "        pass",
        ("tests/e2e/test_reattach.py::test_a_save_while_stopped_waits_for_continue_and_for_disconnect",),
    ),
    Mutant(
        "relay-reads-no-dap", "bytes that are not DAP close the connection with an audit line",
        "debugdash/core/attach_relay.py",
        "                asyncio.create_task(_forward_messages(connection, reader, up_writer)),",
        "                asyncio.create_task(_pipe(reader, up_writer)),",
        ("tests/core/test_dap_framing.py",),
    ),
    Mutant(
        "agent-threads-stop-with-the-app", "switches and revocations apply while the IDE holds the app stopped",
        "debugdash/agent/attach.py",
        "            _keep_ours_running()",
        "            pass",
        ("tests/e2e/test_reattach.py::test_switches_still_apply_while_the_ide_holds_the_app_stopped",),
    ),
    Mutant(
        "prestart-fits", "an early start that began with other PYTHON*/locale variables is not used",
        "debugdash/core/prestart.py",
        '            if name.startswith(("PYTHON", "LC_", "LANG")) and env.get(name) != self.env.get(name):',
        "            if False:",
        ("tests/e2e/test_prestart.py::test_an_early_start_that_does_not_fit_is_ended_and_a_fresh_server_serves",),
    ),
    Mutant(
        "prestart-path", "the early-started server's sys.path is a fresh start's (debugdash's import folder first)",
        "debugdash/agent/prestart.py",
        "        sys.path.insert(1 + index, entry)",
        "        pass",
        ("tests/e2e/test_prestart.py::test_the_early_started_server_sees_what_a_fresh_start_sees",),
    ),
]


class Stop(Exception):
    """SIGTERM: leave through the same restore path as Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run on the intact tree")
    args = parser.parse_args(argv)

    if args.list:
        for m in MUTANTS:
            print(f"{m.name:26} {m.file:32} {m.promise}")
        return 0
    chosen = _choose(args.names)
    _check_mutants(chosen)
    _check_clean({m.file for m in chosen})
    signal.signal(signal.SIGTERM, _on_sigterm)

    if not args.no_baseline:
        tests = list(dict.fromkeys(t for m in chosen for t in m.tests))
        print(f"baseline: {len(tests)} test targets on the intact tree ...", flush=True)
        code, seconds = _pytest(tests)
        if code != 0:
            print(f"baseline failed (pytest exit {code}, {seconds:.0f} s): fix the tests before judging mutants", file=sys.stderr)
            return 2
        print(f"baseline passed in {seconds:.0f} s", flush=True)

    results: list[tuple[Mutant, str, float]] = []
    try:
        for index, mutant in enumerate(chosen, 1):
            print(f"[{index}/{len(chosen)}] {mutant.name} ...", end=" ", flush=True)
            verdict, seconds = _run(mutant)
            print(f"{verdict} ({seconds:.0f} s)", flush=True)
            results.append((mutant, verdict, seconds))
    except (KeyboardInterrupt, Stop):
        print("\ninterrupted; every file is restored", file=sys.stderr)
        _table(results)
        return 130
    _table(results)
    return 0 if all(verdict.startswith("killed") for _, verdict, _ in results) else 1


def _choose(names: list[str]) -> list[Mutant]:
    if not names:
        return list(MUTANTS)
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"no mutant named {', '.join(unknown)}; see --list")
    return [known[n] for n in names]


def _check_mutants(mutants: list[Mutant]) -> None:
    """Every original text must occur exactly once, so the edit lands where meant."""
    problems = []
    for m in mutants:
        text = (ROOT / m.file).read_text()
        count = text.count(m.original)
        if count != 1:
            problems.append(f"{m.name}: the original text occurs {count} times in {m.file}")
    if problems:
        sys.exit("stale mutants (the product changed; update them):\n  " + "\n  ".join(problems))


def _check_clean(files: set[str]) -> None:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", *sorted(files)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    if status.strip():
        sys.exit(f"uncommitted changes in files this would mutate; commit or stash them first:\n{status}")


def _run(mutant: Mutant) -> tuple[str, float]:
    path = ROOT / mutant.file
    intact = path.read_bytes()
    mutated = intact.decode().replace(mutant.original, mutant.replacement, 1).encode()
    try:
        _drop_bytecode(path)
        path.write_bytes(mutated)
        code, seconds = _pytest(list(mutant.tests))
    finally:
        # A second Ctrl-C must not cut the restore short.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            path.write_bytes(intact)
            _drop_bytecode(path)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    if code == 0:
        return "SURVIVED", seconds
    if code == 1:
        return "killed", seconds
    if code == 2:  # collection failed: the mutant broke an import (check it is the edit meant)
        return "killed (errors)", seconds
    if code == -1:
        return "killed (timeout)", seconds
    return f"ERROR (pytest exit {code})", seconds


def _drop_bytecode(path: Path) -> None:
    # A cached .pyc of the mutant with the same size and mtime second as the
    # restored file would be loaded in its place.
    cached = Path(importlib.util.cache_from_source(str(path)))
    cached.unlink(missing_ok=True)


def _pytest(tests: list[str]) -> tuple[int, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_interruptible)
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return -1, time.monotonic() - started
    except BaseException:
        # Interrupted: let pytest run its teardown (it ends the servers it started), then go.
        _stop(proc)
        raise
    return code, time.monotonic() - started


def _interruptible() -> None:
    # Started in the background, we inherit SIGINT ignored; pytest must get it
    # to run its teardown when we stop it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _table(results: list[tuple[Mutant, str, float]]) -> None:
    if not results:
        return
    print()
    print(f"{'mutant':26} {'file':32} {'result':18} {'s':>4}  promise")
    for mutant, verdict, seconds in results:
        print(f"{mutant.name:26} {mutant.file:32} {verdict:18} {seconds:4.0f}  {mutant.promise}")
    killed = sum(verdict.startswith("killed") for _, verdict, _ in results)
    print(f"\n{killed} of {len(results)} killed ({100 * killed // len(results)} %)")


if __name__ == "__main__":
    sys.exit(main())
