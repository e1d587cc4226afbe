"""Privacy by default: ~ for home, hashed identifiers, allowlisted variables only."""

import json
import os
import platform

from diagnostics.agent.probe.common import hashed, home_dirs, redact_home

from .reports import run_json


def test_home_is_written_as_tilde_everywhere():
    data = {"a": "/home/ann/miniforge3/envs/x", "b": ["C:\\Users\\ann\\env"], "/home/ann/k": 1}
    out = redact_home(data, ["/home/ann", "C:\\Users\\ann"])
    assert out == {"a": "~/miniforge3/envs/x", "b": ["~\\env"], "~/k": 1}


def test_identifiers_are_hashed_unless_shared():
    assert hashed("gpu-box", share=False) == hashed("gpu-box", share=False) != "gpu-box"
    assert hashed("gpu-box", share=False).startswith("sha256:")
    assert hashed("gpu-box", share=True) == "gpu-box"


def test_a_real_run_keeps_home_hostname_and_secrets_out(tmp_path):
    home = str(tmp_path / "home" / "student")
    os.makedirs(home)
    _, doc = run_json(
        "--no-bench",
        env={
            "HOME": home,
            "CONDA_TOKEN": "s3cret-token",
            "AWS_SECRET_ACCESS_KEY": "s3cret-aws",
            "CUDA_VISIBLE_DEVICES": "0",
            "LD_LIBRARY_PATH": f"{home}/lib",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
            "PYTHONPATH_EXTRA": "x",
        },
    )
    text = json.dumps(doc)
    assert "s3cret" not in text and f"{home}/lib" not in text
    variables = doc["report"]["variables"]
    assert variables["values"] == {
        "CUDA_VISIBLE_DEVICES": "0",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    }
    assert variables["ld_library_path_set"] is True
    assert doc["report"]["host"]["hostname"] == hashed(platform.node(), share=False)


def test_share_identifiers_sends_the_hostname_in_clear():
    _, doc = run_json("--no-bench", "--share-identifiers")
    assert doc["report"]["host"]["hostname"] == platform.node()
    assert doc["report"]["identifiers_shared"] is True


def test_the_running_users_home_is_known():
    assert os.path.expanduser("~").rstrip("/") in home_dirs()


def test_only_whole_home_components_are_replaced():
    out = redact_home(["/home/ann", "/home/ann/x", "/home/anna/x", "/home/ann-b"], ["/home/ann"])
    assert out == ["~", "~/x", "/home/anna/x", "/home/ann-b"]


def test_planted_credentials_and_the_real_home_never_appear(tmp_path):
    """Secrets in allowlisted values and secret-named variables, HOME pointed elsewhere."""
    from diagnostics.agent.probe.common import password_db_home

    real_home = password_db_home()
    secrets = {
        "CONDA_CHANNELS": "https://alice:hunter2-pw@conda.example.org/channel,conda-forge",
        "CONDA_PKGS_DIRS": f"{real_home}/conda-pkgs",
        "PYTORCH_HUB_TOKEN": "hunter2-hub",
        "pytorch_credentials": "hunter2-lower",
        "PYTORCH_Api_Key": "hunter2-key",
        "CUDA_AUTH_HEADER": "hunter2-auth",
        "PYTORCH_MIRROR": "https://ghp_hunter2tok@example.org/whl",
        "HOME": str(tmp_path),
    }
    done, doc = run_json("--no-bench", env=secrets)
    everything = done.stdout + done.stderr + json.dumps(doc)
    assert "hunter2" not in everything
    values = doc["report"]["variables"]["values"]
    assert values["CONDA_CHANNELS"] == "https://***@conda.example.org/channel,conda-forge"
    assert values["PYTORCH_MIRROR"] == "https://***@example.org/whl"
    assert not {"PYTORCH_HUB_TOKEN", "pytorch_credentials", "PYTORCH_Api_Key"} & set(values)
    if len(real_home) > 1:  # the password database's home, though HOME says otherwise
        assert values["CONDA_PKGS_DIRS"] == "~/conda-pkgs"
        assert f"{real_home}/" not in everything


def test_url_credentials_are_scrubbed_anywhere_in_a_string():
    from diagnostics.agent.probe.common import scrub_credentials

    text = "pip: https://u:p@a.b/x and git+ssh://tok@host/r, not mail@example.org"
    assert scrub_credentials(text) == (
        "pip: https://***@a.b/x and git+ssh://***@host/r, not mail@example.org"
    )
