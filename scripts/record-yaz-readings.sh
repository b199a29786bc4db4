#!/bin/sh
# Records an independent reading of every MARC fixture: what yaz-marcdump (Index Data's YAZ, Debian package
# `yaz`) makes of each file, as MARC-in-JSON, one record per line, into test/fixtures/marc/yaz/. The test
# marc-real-files.test.ts compares our reader with these recordings (CI machines have no yaz).
#
#   apt-get install -y yaz jq && sh scripts/record-yaz-readings.sh
#
# ISO 2709:  yaz-marcdump -f MARC-8 -t UTF-8 -l 9=97 -o json FILE | jq -c .   -> yaz/<dir>/<file>.jsonl
#            (yaz reads a record whose leader/09 is `a` as UTF-8 whatever -f says, and -l 9=97 sets leader/09
#            to `a` in what it writes, as our reader does: the text is Unicode now)
#            and, for the files whose records are UTF-8 under a blank leader/09 (our reader detects them),
#            yaz-marcdump -f UTF-8 -t UTF-8 -l 9=97 -o json FILE | jq -c .      -> yaz/<dir>/<file>.utf8.jsonl
# MARCXML:   yaz-marcdump -i marcxml -o json FILE | jq -c .                       -> yaz/<dir>/<file>.jsonl
# yaz writes notes such as `<!-- Skipping bad byte ... -->` among the records: they are left out (compact()).
set -eu
compact() { grep -a -v '^<!--' | jq -c .; }
cd "$(dirname "$0")/.."
FIXTURES=test/fixtures/marc
OUT=$FIXTURES/yaz
UTF8_UNDER_BLANK="evergreen/FSL.marc evergreen/map_data.mrc pymarc/testunimarc.dat pymarc/utf8_without_leader_flag.dat"
command -v yaz-marcdump >/dev/null || { echo "yaz-marcdump not found: apt-get install -y yaz" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq not found: apt-get install -y jq" >&2; exit 1; }
yaz-marcdump -V 2>/dev/null | head -1 > "$OUT/VERSION" || true
for dir in evergreen pymarc ruby-marc marc4j made-up; do
  mkdir -p "$OUT/$dir"
  for file in "$FIXTURES/$dir"/*; do
    name=$(basename "$file")
    case "$name" in
      *.xml) yaz-marcdump -i marcxml -o json "$file" 2>/dev/null | compact > "$OUT/$dir/$name.jsonl" || true ;;
      *)
        yaz-marcdump -f MARC-8 -t UTF-8 -l 9=97 -o json "$file" 2>/dev/null | compact > "$OUT/$dir/$name.jsonl" || true
        case " $UTF8_UNDER_BLANK " in
          *" $dir/$name "*)
            yaz-marcdump -f UTF-8 -t UTF-8 -l 9=97 -o json "$file" 2>/dev/null | compact > "$OUT/$dir/$name.utf8.jsonl" || true ;;
        esac ;;
    esac
  done
done
# Two readings yaz cannot make of the files as they are, made of a copy:
# - Evergreen's serials_marc21.xml is several <record> roots with no <collection>, which libxml2 stops at after
#   the first: the copy is wrapped in <collection> (what our reader does) -> serials_marc21.xml.wrapped.jsonl
# - ruby-marc's marc8_accented_chars.marc is MARC-8 under leader/09 `a`, which yaz then reads as UTF-8 whatever
#   -f says: the copy has leader/09 blank (what --encoding marc8 tells our reader) -> .as-marc8.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ echo '<collection>'; grep -v '^<?xml' "$FIXTURES/evergreen/serials_marc21.xml"; echo '</collection>'; } > "$tmp/serials.xml"
yaz-marcdump -i marcxml -o json "$tmp/serials.xml" 2>/dev/null | compact > "$OUT/evergreen/serials_marc21.xml.wrapped.jsonl"
cp "$FIXTURES/ruby-marc/marc8_accented_chars.marc" "$tmp/accented.marc"
printf ' ' | dd of="$tmp/accented.marc" bs=1 seek=9 conv=notrunc 2>/dev/null
yaz-marcdump -f MARC-8 -t UTF-8 -l 9=97 -o json "$tmp/accented.marc" 2>/dev/null | compact > "$OUT/ruby-marc/marc8_accented_chars.marc.as-marc8.jsonl"
echo "recorded into $OUT"
