"""docs/openapi.yaml passes openapi-spec-validator (PyPI, pinned in
deploy/local/install-deps), the check a user or a code generator runs
first. Our own test_24 reads the file with the same YAML library and so
shared its misreading: a flow-mapping description with a comma
(`description: https; no private, loopback or link-local hosts`) parsed as
a second key with a null value, which the OpenAPI 3.1 meta-schema refuses.
The second test puts that exact mistake back and requires the validator
to refuse the file, so the check cannot silently stop checking."""

import os
import subprocess

from validators import REPO, venv_tool

SPEC = os.path.join(REPO, "docs", "openapi.yaml")
FIXED = "description: 'https; no private, loopback or link-local hosts'"
BROKEN = "description: https; no private, loopback or link-local hosts"


def validate(path):
    r = subprocess.run([venv_tool("openapi-spec-validator"), path], capture_output=True, text=True, timeout=120)
    print(r.stdout[-3000:], r.stderr[-3000:])
    return r.returncode, r.stdout + r.stderr


def test_the_document_is_valid_openapi():
    rc, out = validate(SPEC)
    assert rc == 0 and out.strip().endswith("OK"), out[-3000:]


def test_the_validator_refuses_the_old_mistake(tmp_path):
    with open(SPEC) as f:
        text = f.read()
    assert text.count(FIXED) == 1, "the webhook url description moved: update this test"
    broken = tmp_path / "openapi.yaml"
    broken.write_text(text.replace(FIXED, BROKEN))
    rc, out = validate(str(broken))
    assert rc != 0, out[-3000:]
    assert "Validation Error" in out and "loopback or link-local hosts" in out, out[-3000:]
