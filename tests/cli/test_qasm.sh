#!/usr/bin/env bash
# CLI tests of `objective: qasm` through `poets score`: rewards (-<H>) of the convention table of
# data/hamiltonians/README.md for the three shipped Hamiltonians and for a Hamiltonian given as a
# file, multi-line programs as file arguments, invalid programs with the parser's
# `LINE:COL: CODE` reason (E_QREG for a qubit count other than the Hamiltonian's), and bad
# `hamiltonian` values.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

HDR='OPENQASM 2.0; include "qelib1.inc";'

# expect_values NAME EXPECTED_FILE ACTUAL_FILE: same lines; numbers equal within 1e-12.
expect_values() {
    local name=$1
    if ! awk -F'\t' 'NR == FNR { want[FNR] = $0; n = FNR; next }
        { got[FNR] = $0; m = FNR }
        END {
            if (n != m) { print "line count " m " != " n; exit 1 }
            for (i = 1; i <= n; i++) {
                w = want[i]; g = got[i]
                if (w ~ /^invalid/) { if (index(g, w) != 1) { print "line " i ": " g " != " w; exit 1 } continue }
                d = w - g; if (d < 0) d = -d
                if (g !~ /^-?[0-9]/ || d > 1e-12) { print "line " i ": " g " != " w; exit 1 }
            }
        }' "$2" "$3" >"$TMP/why"; then
        fail "$name" "$(cat "$TMP/why")"
    else
        ok "$name"
    fi
}

printf '%s\n' "$HDR qreg q[4];" "$HDR qreg q[4]; x q[2]; x q[3];" "$HDR qreg q[4]; x q[0]; x q[1];" \
    "$HDR qreg q[3]; x q[0];" "$HDR qreg q[4]; cnot q[0], q[1];" "not a program" >"$TMP/h2.in"
printf '%s\n' -0.3527848072799997 0.9108735545943865 0.39446830304594294 \
    "invalid	1:44: E_QREG" "invalid	1:48: E_UNKNOWN_GATE" "invalid	1:1: E_HEADER" >"$TMP/h2.want"
if "$POETS" score --objective qasm --set hamiltonian=h2 <"$TMP/h2.in" >"$TMP/h2.out" 2>"$TMP/err"; then
    expect_values score_h2 "$TMP/h2.want" "$TMP/h2.out"
else
    fail score_h2 "exit status $?: $(cat "$TMP/err")"
fi

# The default Hamiltonian is h2.
printf '%s\n' "$HDR qreg q[4]; x q[2]; x q[3];" | "$POETS" score --objective qasm >"$TMP/default.out" 2>&1
printf '%s\n' 0.9108735545943865 >"$TMP/default.want"
expect_values score_default_h2 "$TMP/default.want" "$TMP/default.out"

printf '%s\n' "$HDR qreg q[7]; x q[0];" "$HDR qreg q[7]; x q[6];" >"$TMP/art.in"
printf '%s\n' 2 0 >"$TMP/art.want"
"$POETS" score --objective qasm --set hamiltonian=artificial <"$TMP/art.in" >"$TMP/art.out" 2>&1
expect_values score_artificial "$TMP/art.want" "$TMP/art.out"

# Multi-line programs as file arguments, one sequence per file.
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[8];\nh q; // every qubit in |+>\n' >"$TMP/plus.qasm"
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[8];\nh q[0]\nh q[1];\n' >"$TMP/bad.qasm"
"$POETS" score --objective qasm --set hamiltonian=tfim "$TMP/plus.qasm" "$TMP/bad.qasm" >"$TMP/tfim.out" 2>&1
printf '%s\n' 8 "invalid	5:1: E_SYNTAX" >"$TMP/tfim.want"
expect_values score_tfim_files "$TMP/tfim.want" "$TMP/tfim.out"

# Any file in the data format: a 2-qubit ZZ + X Hamiltonian (E(|00>) = 1, so reward -1).
printf '# qubits: 2\n1.0 ZZ\n0.5 XI\n' >"$TMP/zz.txt"
printf '%s\n' "$HDR qreg q[2];" "$HDR qreg q[2]; x q[0];" >"$TMP/zz.in"
printf '%s\n' -1 1 >"$TMP/zz.want"
"$POETS" score --objective qasm --set "hamiltonian=$TMP/zz.txt" <"$TMP/zz.in" >"$TMP/zz.out" 2>&1
expect_values score_hamiltonian_file "$TMP/zz.want" "$TMP/zz.out"

printf '1.0 ZZ\n0.5 XA\n' >"$TMP/broken.txt"
expect_error hamiltonian_file_error "^.*hamiltonian.*broken\.txt: line 2: Pauli string" \
    "$POETS" score --objective qasm --set "hamiltonian=$TMP/broken.txt"
expect_error hamiltonian_unknown_name "hamiltonian: cannot read 'h3'" \
    "$POETS" score --objective qasm --set hamiltonian=h3
# each experiment config runs a short budget with the shipped circuit prior
for cfg in h2 tfim artificial; do
    if "$POETS" run "experiments/$cfg.yaml" --set budget=8 --set batch=4 --set K=2 --set steps_per_round=1 \
        --set train_batch=4 --set max_len=160 --out "$TMP/$cfg.h5" --quiet 2>"$TMP/err" &&
        "$POETS" report "$TMP/$cfg.h5" --json | grep -q '"evaluations":8,'; then
        ok "run_$cfg"
    else
        fail "run_$cfg" "$(head -c 300 "$TMP/err")"
    fi
done
finish
