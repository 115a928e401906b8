#!/usr/bin/env bash
# Model-checks the delivery protocol (src/Outbox.Storage/DeliveryProtocol.pml) with Spin:
# exhaustively, for Resend and Hold, its safety properties (every extra copy of a mail explained by
# an 'unconfirmed' attempt, at most one copy under Hold, a take-over recorded unconfirmed only
# where the dead worker had begun sending) and its liveness (every mail ends sent, failed, expired or
# unconfirmed, under weak fairness). Then each mutant, which takes one fix out, must fail: Spin's
# counterexample is printed as the model's own account of each step.
#
#   build/verify-model.sh            # needs spin and gcc (Debian: apt install spin gcc)
set -euo pipefail
model="$(cd "$(dirname "$0")/.." && pwd)/src/Outbox.Storage/DeliveryProtocol.pml"
work=$(mktemp -d /tmp/outbox-model-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$model" model.pml

# verify NAME EXPECT SPIN_FLAGS... : EXPECT is "holds" or "fails"; MODE=liveness checks the LTL.
verify() {
  local name=$1 expect=$2; shift 2
  local mode=${MODE:-safety}
  rm -f pan pan.* model.pml.trail
  if ! spin -a "$@" model.pml >spin.txt 2>&1 || grep -q "Error" spin.txt; then
    echo "model: $name: spin cannot read the model" >&2; cat spin.txt >&2; exit 1
  fi
  if [ "$mode" = liveness ]; then
    gcc -O2 -DMEMLIM=4096 -DNFAIR=3 -o pan pan.c 2>/dev/null
    ./pan -a -f -m400000 >out.txt 2>&1 || true
  else
    gcc -O2 -DSAFETY -DNOCLAIM -DMEMLIM=4096 -o pan pan.c 2>/dev/null
    ./pan -m400000 >out.txt 2>&1 || true
  fi
  local errors states seconds
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' out.txt)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' out.txt)
  seconds=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds/\1/p' out.txt)
  if grep -q "max search depth too small\|out of memory\|search not completed" out.txt; then
    echo "model: $name ($mode): the search did not complete" >&2; cat out.txt >&2; exit 1
  fi
  if [ "$expect" = holds ] && [ "${errors:-1}" = 0 ]; then
    echo "model: $name ($mode) holds: $states states in ${seconds}s"
  elif [ "$expect" = fails ] && [ "${errors:-0}" != 0 ]; then
    echo "model: $name ($mode) fails as it must: $(grep -m1 -o 'assertion violated.*\|acceptance cycle.*' out.txt)"
    trail "$@"
  else
    echo "model: $name ($mode): expected it to $expect, Spin says errors: ${errors:-?}" >&2
    cat out.txt >&2
    if [ -f model.pml.trail ]; then trail "$@" >&2; fi
    exit 1
  fi
}

# The counterexample, as the model's own account of each step (its printf lines).
trail() {
  spin -t "$@" model.pml 2>/dev/null | grep -E '^\s+(worker|server|clock|RecordLostAttempts)|assertion violated' | sed 's/^ */    /' | head -60 || true
}

verify "Resend" holds
verify "Hold" holds -DHOLD
MODE=liveness verify "Resend" holds
MODE=liveness verify "Hold" holds -DHOLD
verify "without the per-mail mark" fails -DNO_MARK
verify "without the lease check in the mark" fails -DNO_LEASE_CHECK
verify "with the take-over lost by a hand-back" fails -DLOSE_TAKEOVER
