"""One trivial engine call made N times, from Python or (the same call) in
Rust, for callgrind: the difference of the two runs' instruction counts,
divided by N, is what the binding adds to one call. Needs the bench's wheel
(tools/bench.sh installs it into target/py-bench-venv).

    V=target/py-bench-venv/bin/python
    for side in python rust; do
        valgrind --tool=callgrind --callgrind-out-file=cg.$side.out \\
            $V bindings-python/tools/profile_call.py $side organization 2000
    done
    callgrind_annotate cg.python.out | head -30   # and cg.rust.out: compare per function

`organization` is `Enlist.organization(id)`; `invitation` is
`Enlist.invitation(org, id, actor=...)`. Both runs make the same engine
and the same Python loop, so only the call differs.
"""

from __future__ import annotations

import sys
from typing import Any

import enlist
from enlist import _enlist

native: Any = _enlist


def main() -> None:
    side, call, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    e = enlist.Enlist.in_memory()
    org, owner = e.create_organization("Acme", owner_user_ref="owner", owner_email="owner@acme.example")
    org_id, owner_id = org.id, owner.id
    inv = e.invite(org_id, ["ann@acme.example"], actor=owner_id).issued[0].invitation.id
    if side == "python":
        if call == "organization":
            f = e.organization
            for _ in range(n):
                f(org_id)
        else:
            g = e.invitation
            for _ in range(n):
                g(org_id, inv, actor=owner_id)
    else:
        for _ in range(n):
            pass
        if call == "organization":
            native._bench_organization(e, org_id, n)
        else:
            native._bench_invitation(e, org_id, inv, owner_id, n)


if __name__ == "__main__":
    main()
