#!/usr/bin/env python3
"""Example oracle for `objective: external` (experiments/external_example.yaml).

Protocol: one JSON object per line on stdin, {"sequences": [...]}; for each, one JSON object
per line on stdout, {"rewards": [...], "valid": [...], "errors": [...]}, same length and order.
Reward: the mean Kyte-Doolittle hydropathy of the sequence (the GRAVY score; Kyte & Doolittle
1982, J. Mol. Biol. 157:105). Sequences that are empty or hold a letter outside the 20 standard
amino acids are invalid (reward null, valid false, with the reason). Standard library only; the
reply is flushed after every line, as the engine waits for it. Diagnostics go to stderr.
"""
import json
import sys

HYDROPATHY = {
    "A": 1.8, "R": -4.5, "N": -3.5, "D": -3.5, "C": 2.5, "Q": -3.5, "E": -3.5, "G": -0.4, "H": -3.2, "I": 4.5,
    "L": 3.8, "K": -3.9, "M": 1.9, "F": 2.8, "P": -1.6, "S": -0.8, "T": -0.7, "W": -0.9, "Y": -1.3, "V": 4.2,
}


def score(seq):
    """(reward, error): the mean hydropathy, or None and the reason."""
    if not seq:
        return None, "empty sequence"
    for i, letter in enumerate(seq):
        if letter not in HYDROPATHY:
            return None, f"letter {letter!r} at position {i + 1} is not a standard amino acid"
    return sum(HYDROPATHY[letter] for letter in seq) / len(seq), None


def main():
    for line in sys.stdin:
        sequences = json.loads(line)["sequences"]
        scored = [score(s) for s in sequences]
        reply = {
            "rewards": [r for r, _ in scored],
            "valid": [r is not None for r, _ in scored],
            "errors": [e for _, e in scored],
        }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
