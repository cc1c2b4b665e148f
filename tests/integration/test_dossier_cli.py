"""`casebridge dossier` as a user runs it: subprocesses against a live hub on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from casebridge import cli_dossier
from casebridge.bootstrap import Container
from casebridge.gateway.dossier_folder import pack
from tests.conftest import LiveServer
from tests.integration.dossier_helpers import demo_token, make_folder
from tests.integration.test_cli import run_cli


def _env(tmp_path: Path) -> dict[str, str]:
    return {"CASEBRIDGE_VAR_DIR": str(tmp_path / "client-var")}


def test_killed_push_resumes_and_resends_at_most_the_packs_in_flight(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    token = demo_token(container)
    folder = make_folder(tmp_path / "D-kill", volumes=3, pages=40, size=100_000)
    env = _env(tmp_path)
    packed = run_cli("dossier", "pack", str(folder), "--json", env=env, cwd=tmp_path)
    assert packed.returncode == 0, packed.stderr
    total = json.loads(packed.stdout)["pages"]
    assert total == 120
    parallel, pack_mb = 2, 1  # 1 MB packs of 100 KB pages: 10 pages per pack
    args = ["dossier", "push", str(folder), "--hub", hub.url, "--token", token, "--json"]
    args += ["--parallel", str(parallel), "--pack-mb", str(pack_mb)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEBRIDGE_")}
    acked = 0
    with subprocess.Popen(
        [sys.executable, "-m", "casebridge.cli", *args, "--bwlimit", "3000"],
        env={**base, **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as sender:
        assert sender.stdout is not None
        for line in sender.stdout:
            event = json.loads(line)
            if event["event"] == "pack":
                acked = event["acked_pages"]
            if acked >= total // 2:
                sender.kill()  # SIGKILL: no goodbye, packs in flight are cut mid-body
                break
        sender.wait(10)
    assert total // 2 <= acked < total, "the sender must die midway"
    time.sleep(1.0)  # let the hub finish handling the cut connections
    with container.uow() as uow:
        held_after_kill = uow.dossiers.page_count()
    assert held_after_kill >= acked  # everything acknowledged is durable at the hub

    rerun = run_cli(*args, env=env, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    done = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert done["event"] == "done"
    assert done["status"] == "complete"
    # The hub asks for exactly what it lacks; nothing acknowledged travels again, and what
    # was lost is no more than the packs in flight when the sender died.
    assert done["pages_missing_at_start"] == total - held_after_kill
    assert done["pages_sent"] == total - held_after_kill
    assert done["pages_sent"] <= total - acked
    assert (total - acked) - done["pages_sent"] <= parallel * 10


def test_pack_reports_every_bad_file_at_once(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D-bad", volumes=1, pages=2, size=10)
    (folder / "01-卷1" / "notes.docx").write_bytes(b"x")
    (folder / "01-卷1" / "nested").mkdir()
    r = run_cli("dossier", "pack", str(folder), env=_env(tmp_path), cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot pack")
    assert "notes.docx: unsupported media type" in r.stderr
    assert "nested: volumes hold files, not folders" in r.stderr


def test_catalogue_groups_pages_into_documents(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D-cat", volumes=1, pages=5, size=10)
    (folder / "catalogue.csv").write_text(
        "volume,first_page,last_page,code,title,source_agency\n"
        "01-卷1,1,2,LAJDS,立案决定书,DEMO350102GA\n"
        "01-卷1,3,5,XWBL,询问笔录,DEMO350102GA\n",
        encoding="utf-8",
    )
    r = run_cli("dossier", "pack", str(folder), "--json", env=_env(tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    docs = json.loads(r.stdout)["volumes"][0]["documents"]
    assert [(d["title"], d["pages"]) for d in docs] == [
        ("立案决定书", [1, 2]),
        ("询问笔录", [3, 5]),
    ]
    shown = run_cli("dossier", "show", str(folder), "--json", env=_env(tmp_path), cwd=tmp_path)
    assert json.loads(shown.stdout)["pages"] == 5


def _flip_a_bit(page: Path) -> None:
    data = bytearray(page.read_bytes())
    data[10] ^= 1
    page.write_bytes(bytes(data))


def test_verify_names_an_altered_page_and_fails(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D-v", volumes=2, pages=3, size=100)
    env = _env(tmp_path)
    assert run_cli("dossier", "pack", str(folder), env=env, cwd=tmp_path).returncode == 0
    ok = run_cli("dossier", "verify", str(folder), "--json", env=env, cwd=tmp_path)
    assert json.loads(ok.stdout)["ok"] is True
    _flip_a_bit(folder / "02-卷2" / "0002.jpg")
    bad = run_cli("dossier", "verify", str(folder), env=env, cwd=tmp_path)
    assert bad.returncode == 1
    assert "volume 2 «02-卷2», document 1 «02-卷2», page 2 (0002.jpg)" in bad.stderr


def test_messages_follow_the_users_language(tmp_path: Path) -> None:
    """A Chinese desktop (LC_MESSAGES) gets Chinese lines and page names; CASEBRIDGE_LANG
    pins the language whatever the locale; an unknown one is an error naming the setting."""
    folder = make_folder(tmp_path / "D-zh", volumes=2, pages=3, size=100)
    env = _env(tmp_path)
    zh = {**env, "LC_MESSAGES": "zh_CN.UTF-8"}
    assert run_cli("dossier", "pack", str(folder), env=env, cwd=tmp_path).returncode == 0
    ok = run_cli("dossier", "verify", str(folder), env=zh, cwd=tmp_path)
    assert ok.returncode == 0
    assert "全部 6 页校验通过" in ok.stdout
    _flip_a_bit(folder / "02-卷2" / "0002.jpg")
    bad = run_cli("dossier", "verify", str(folder), env=zh, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("错误：电子卷宗 D-zh 有 1 页未通过校验")
    assert (
        "第 2 卷《02-卷2》，第 1 份材料《02-卷2》，第 2 页（0002.jpg）：内容与清单不符"
        in bad.stderr
    )
    pinned = run_cli(
        "dossier", "verify", str(folder), env={**zh, "CASEBRIDGE_LANG": "en"}, cwd=tmp_path
    )
    assert pinned.stderr.startswith("error: 1 page(s) of dossier D-zh fail verification")
    assert "volume 2 «02-卷2», document 1 «02-卷2», page 2 (0002.jpg)" in pinned.stderr
    wrong = run_cli(
        "dossier", "verify", str(folder), env={**env, "CASEBRIDGE_LANG": "fr"}, cwd=tmp_path
    )
    assert wrong.returncode == 1
    assert "CASEBRIDGE_LANG: 'fr' is not a supported language" in wrong.stderr


def test_pack_refusals_are_said_in_the_users_language(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D-bad", volumes=1, pages=2, size=100)
    (folder / "01-卷1" / "notes.txt").write_text("not a scan")
    zh = {**_env(tmp_path), "LC_MESSAGES": "zh_CN.UTF-8"}
    r = run_cli("dossier", "pack", str(folder), env=zh, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(f"错误：无法打包 {folder}")
    assert "notes.txt: 不支持的文件类型（扩展名 .txt；允许 " in r.stderr


def _pushed(
    hub: LiveServer, container: Container, tmp_path: Path, name: str, **shape: int
) -> tuple[Path, dict[str, str], list[str]]:
    """A folder of random pages, packed and pushed with the CLI; returns it, the CLI's
    environment and its hub options."""
    token = demo_token(container)
    folder = make_folder(tmp_path / name, **shape)
    env = _env(tmp_path)
    common = ["--hub", hub.url, "--token", token, "--json"]
    assert run_cli("dossier", "pack", str(folder), env=env, cwd=tmp_path).returncode == 0
    assert run_cli("dossier", "push", str(folder), *common, env=env, cwd=tmp_path).returncode == 0
    return folder, env, common


def test_pull_with_cli_writes_verified_pages(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    folder, env, common = _pushed(hub, container, tmp_path, "D-pull", volumes=1, pages=3, size=1000)
    r = run_cli("dossier", "pull", "D-pull", str(tmp_path / "in"), *common, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pages"] == 3
    assert (tmp_path / "in" / "01-卷1" / "0003.jpg").read_bytes() == (
        folder / "01-卷1" / "0003.jpg"
    ).read_bytes()


def test_check_names_an_altered_page_on_the_hub_and_repair_lets_push_resend_it(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    """The sender's three commands after the hub found a page altered: check (exit 1,
    naming it), check --repair (the hub forgets it), push (sends that page only)."""
    folder, env, common = _pushed(hub, container, tmp_path, "D-chk", volumes=1, pages=3, size=1000)
    text = [c for c in common if c != "--json"]
    ok = run_cli("dossier", "check", "D-chk", *text, env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "all 3 pages stored on the hub verified" in ok.stdout
    sha = hashlib.sha256((folder / "01-卷1" / "0002.jpg").read_bytes()).hexdigest()
    where = container.page_store().store.locate(sha)  # type: ignore[attr-defined]
    assert where is not None
    with open(where[0], "r+b") as fh:
        fh.seek(where[1] + 100)
        byte = fh.read(1)[0]
        fh.seek(where[1] + 100)
        fh.write(bytes([byte ^ 0x01]))
    bad = run_cli("dossier", "check", "D-chk", *text, env=env, cwd=tmp_path)
    assert bad.returncode == 1
    assert "page 2 (0002.jpg)" in bad.stderr
    assert "0 page(s) missing, 1 failing" in bad.stderr
    fixed = run_cli("dossier", "check", "D-chk", "--repair", *common, env=env, cwd=tmp_path)
    assert fixed.returncode == 1  # still a page short until the next push
    assert len(json.loads(fixed.stdout)["forgotten"]) == 1
    pushed = run_cli("dossier", "push", str(folder), *common, env=env, cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout.strip().splitlines()[-1])["pages_sent"] == 1
    again = run_cli("dossier", "check", "D-chk", *text, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_pack_extends_and_push_forward_only_the_new_pages(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    """The receiving side's two commands: pack the received folder plus a new volume as a
    child version, push it from that folder (which holds the received manifest)."""
    _, env, common = _pushed(hub, container, tmp_path, "D-fwd", volumes=2, pages=4, size=2000)
    inbox = tmp_path / "in"
    r = run_cli("dossier", "pull", "D-fwd", str(inbox), *common, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    make_folder(inbox / "new", volumes=1, pages=2, size=1500, seed=9)
    (inbox / "new" / "01-卷1").rename(inbox / "03-补充")
    (inbox / "new").rmdir()
    forward = tmp_path / "forward.json"
    received = inbox / "dossier.manifest.json"
    packed = run_cli(
        "dossier", "pack", str(inbox), "--extends", str(received), "--out", str(forward),
        "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    child = json.loads(forward.read_text())
    assert child["parent"] == json.loads(received.read_text())["merkle_root"]
    pushed = run_cli(
        "dossier", "push", str(inbox), "--manifest", str(forward), *common, env=env, cwd=tmp_path
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    done = json.loads(pushed.stdout.strip().splitlines()[-1])
    assert (done["pages_sent"], done["status"], done["merkle_root"]) == (
        2,
        "complete",
        child["merkle_root"],
    )


def test_fast_entry_point_keeps_the_one_line_error_contract(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEBRIDGE_")}
    r = subprocess.run(
        [sys.executable, "-m", "casebridge.entry", "dossier", "verify", str(tmp_path / "none")],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("error: no manifest at")
    assert r.stderr.strip().count("\n") == 0
    full = subprocess.run(
        [sys.executable, "-m", "casebridge.entry", "version", "--json"],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(full.stdout)["version"]


def test_json_summary_is_written_a_volume_at_a_time_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pack --json` and `show --json` write the summary volume by volume (never held
    whole); the line is exactly what one json.dumps of the whole summary gives."""
    folder = make_folder(tmp_path / "D-sum", volumes=3, pages=4, size=10)
    (folder / "catalogue.csv").write_text(
        "volume,first_page,last_page,code,title,source_agency\n"
        '01-卷1,1,2,LAJDS,"立案决定书 ""甲""",DEMO350102GA\n'
        "01-卷1,3,4,XWBL,询问笔录,DEMO350102GA\n",
        encoding="utf-8",
    )
    manifest = pack(folder, dossier_id="D-sum", title="张某案", agency="DEMO350102GA")
    cli_dossier._emit_summary(manifest, manifest="x/dossier.manifest.json", missing=3)
    line = capsys.readouterr().out
    whole = {**cli_dossier._summary(manifest), "manifest": "x/dossier.manifest.json", "missing": 3}
    assert line == json.dumps(whole, ensure_ascii=False) + "\n"
    assert [len(v["documents"]) for v in json.loads(line)["volumes"]] == [2, 1, 1]


def test_show_at_the_hub_counts_the_missing_pages_from_bits(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    """`dossier show ID --hub …` prints how many pages the hub lacks; it asks for the count
    (``missing=bits``), not for the list of their hashes."""
    token = demo_token(container)
    folder = make_folder(tmp_path / "D-show", volumes=2, pages=3, size=100)
    env = _env(tmp_path)
    assert run_cli("dossier", "pack", str(folder), "--json", env=env, cwd=tmp_path).returncode == 0
    manifest = (folder / "dossier.manifest.json").read_bytes()
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.post("/api/v1/dossiers", content=manifest).status_code == 201
    shown = run_cli(
        "dossier", "show", "D-show", "--hub", hub.url, "--token", token, "--json",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["hub_status"], data["missing"], data["pages"]) == ("receiving", 6, 6)
