#!/bin/sh
# llm.c's GPT-2 124M training step on this machine (Tools/llmc_step.c), beside `swiftlet bench`'s
# train_step_gpt2_124m. Needs a checkout of https://github.com/karpathy/llm.c; not part of the
# build or the tests.
#
#     sh Tools/llmc_speed.sh ~/llm.c              # B=4, T=64 and T=256 on 1 and 2 threads
#     STEPS=4 THREADS=2 SEQ=64 sh Tools/llmc_speed.sh ~/llm.c
#
# Compiled as llm.c's Makefile compiles train_gpt2 (-Ofast -march=native, OpenMP). The first step
# allocates llm.c's buffers and is left out; the median of the others is printed (the lower of the
# middle two for an even count). The checkpoint (GPT-2 124M, random weights, 475 MiB) is written
# once under $TMPDIR.
set -eu
LLMC=${1:?usage: llmc_speed.sh PATH_TO_LLM.C_CHECKOUT}
STEPS=${STEPS:-6}
THREADS=${THREADS:-"1 2"}
SEQ=${SEQ:-"64 256"}
CC=${CC:-gcc}
TOOLS=$(cd "$(dirname "$0")" && pwd)
WORK=${TMPDIR:-/tmp}/swiftlet-llmc
mkdir -p "$WORK"
$CC -Ofast -Wno-unused-result -march=native -fopenmp -DOMP -I"$LLMC" "$TOOLS/llmc_step.c" -lm \
    -o "$WORK/llmc_step"
for t in $SEQ; do
    for threads in $THREADS; do
        # Into a file first: a failing run stops the script (sh has no pipefail).
        OMP_NUM_THREADS=$threads "$WORK/llmc_step" "$WORK/gpt2_124M_random.bin" 4 "$t" "$STEPS" \
            > "$WORK/steps.txt"
        awk -v t="$t" -v threads="$threads" '
            /^step/ && $2 != "0:" { ms[n++] = $(NF-1) }
            END {
                for (i = 0; i < n; i++)
                    for (j = i + 1; j < n; j++)
                        if (ms[j] < ms[i]) { x = ms[i]; ms[i] = ms[j]; ms[j] = x }
                printf "llm.c train_gpt2 step  B=4 T=%-4d threads %d  median %.0f ms  min %.0f ms  (%d steps)\n",
                       t, threads, ms[int((n - 1) / 2)], ms[0], n
            }' "$WORK/steps.txt"
    done
done
