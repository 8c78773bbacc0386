#!/usr/bin/env bash
# The fuzz campaign (README, "Fuzzed"): each Jazzer @FuzzTest fuzzed in a JVM of its own (profile fuzz), with the
# inputs its @FuzzTest(maxExecutions) says, over 1,000,000 in all. Writes every fuzz test's figures, and their
# sum, to target/fuzz-report.txt; Jazzer's "Done N runs in S second(s)" lines give the rate of fuzzing alone.
#   tools/fuzz-campaign.sh              the full campaign
#   tools/fuzz-campaign.sh -runs=5000   every fuzz test 5,000 inputs (libFuzzer's -runs, passed through)
# Further arguments go to Maven. A finding fails the build; Jazzer keeps its input under <module>/target/jazzer.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [[ "${1:-}" == -runs=* ]]; then
  args+=("-Djazzer.internal.arg.0=fuzz" "-Djazzer.internal.arg.1=$1")
  shift
fi
modules=schemas,tagging-core,stimulus-producer,spectral-stream
rm -f {schemas,tagging-core,stimulus-producer,spectral-stream}/target/fuzz-report-*.txt
mkdir -p target
start=$(date +%s)
./mvnw -B -Pfuzz -pl "$modules" -am test "${args[@]}" "$@" 2>&1 | tee target/fuzz-campaign.log
end=$(date +%s)
{
  cat {schemas,tagging-core,stimulus-producer,spectral-stream}/target/fuzz-report-*.txt
  echo "libFuzzer, fuzzing alone:"
  grep -E '^Done [0-9]+ runs in [0-9]+ second' target/fuzz-campaign.log | sed 's/^/  /' || true
  awk '/^fuzz .*: [0-9,]+ inputs/ { n = $0; sub(/.*: /, "", n); sub(/ inputs.*/, "", n); gsub(/,/, "", n); t += n }
       END { printf "total: %d inputs in %d s of campaign (Maven and JVM starts included)\n", t, '"$((end - start))"' }' \
    {schemas,tagging-core,stimulus-producer,spectral-stream}/target/fuzz-report-*.txt
} > target/fuzz-report.txt
cat target/fuzz-report.txt
