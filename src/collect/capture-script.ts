/**
 * The capture as a POSIX sh script (busybox ash compatible), for hosts without Node.js.
 * Generated from the same layout lists as the Node capture; a test runs both and compares.
 */
import {
  CLASS_DIRS, DEBUGFS_FILES, DEBUGFS_MAX_BYTES, GROUP_FILES, HOST_FILES, HOST_LISTINGS, PCI_DEVICE_FILES,
  PCI_DEVICE_LINKS, PCI_VIRTFN_PREFIX, UNIT_FILES,
} from '../host/layout.js'

const words = (list: readonly string[]) => list.join(' ')

export function captureScript(toolVersion = '0.0.0'): string {
  return `#!/bin/sh
# vtd-check capture script ${toolVersion}: writes a host snapshot that \`vtd-check --root DIR\` reads
# exactly as it reads the live host. Read-only on the host. Run as root to include PCI config
# space beyond 64 bytes, the ACPI DMAR table and the kernel log.
#   usage: sh vtd-capture.sh [OUT_DIR]
# VTD_CAPTURE_SRC (tests only) reads a snapshot directory instead of /.
set -u
SRC=\${VTD_CAPTURE_SRC:-}
OUT=\${1:-vtd-snapshot-$(date -u +%Y%m%dT%H%M%SZ)}
UNREADABLE=''
NL='
'
# A snapshot never mixes two hosts and is never written through a link: OUT must be new or empty.
if [ -L "$OUT" ] || { [ -e "$OUT" ] && [ ! -d "$OUT" ]; }; then echo "vtd-capture: $OUT is a link or a file: give a new directory" >&2; exit 2; fi
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then echo "vtd-capture: $OUT is not empty: give a new directory" >&2; exit 2; fi
mkdir -p "$OUT" || { echo "vtd-capture: cannot create $OUT" >&2; exit 2; }

# One path per line: no word splitting of names with spaces.
unreadable() { UNREADABLE="$UNREADABLE$1$NL"; }

# json_str TEXT: TEXT as a JSON string body (backslash and quote escaped, control characters dropped).
json_str() { printf '%s' "$1" | tr -d '\\000-\\037\\177' | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g'; }

# copy HOSTPATH [MAXBYTES]: the file's bytes, or a note that it exists but could not be read.
copy() {
  [ -f "$SRC$1" ] || return 0
  mkdir -p "$OUT\${1%/*}"
  rm -f "$OUT$1"
  if [ -n "\${2:-}" ]; then head -c "$2" "$SRC$1" > "$OUT$1" 2>/dev/null; else cat "$SRC$1" > "$OUT$1" 2>/dev/null; fi
  [ $? -eq 0 ] || { rm -f "$OUT$1"; unreadable "$1"; }
}

# link HOSTPATH: the symlink itself, with its original (relative) target text.
link() {
  [ -L "$SRC$1" ] || return 0
  mkdir -p "$OUT\${1%/*}"
  ln -sfn "$(readlink "$SRC$1")" "$OUT$1"
}

# real HOSTPATH: where a link leads, as a host path.
real() { r=$(readlink -f "$SRC$1"); echo "\${r#"$SRC"}"; }

# names DIR: entry names only (device nodes become empty files).
names() {
  [ -e "$SRC$1" ] || return 0
  if [ ! -d "$SRC$1" ]; then mkdir -p "$OUT\${1%/*}"; rm -f "$OUT$1"; : > "$OUT$1"; return 0; fi
  mkdir -p "$OUT$1"
  for e in "$SRC$1"/*; do
    [ -e "$e" ] || continue
    n=\${e##*/}
    if [ -d "$e" ]; then names "$1/$n"; else rm -f "$OUT$1/$n"; : > "$OUT$1/$n"; fi
  done
}

for d in "$SRC"/sys/bus/pci/devices/*; do
  [ -L "$d" ] || continue
  p=/sys/bus/pci/devices/\${d##*/}
  link "$p"
  r=$(real "$p")
  mkdir -p "$OUT$r"
  for f in ${words(PCI_DEVICE_FILES)}; do copy "$r/$f"; done
  for l in ${words(PCI_DEVICE_LINKS)}; do link "$r/$l"; done
  for v in "$SRC$r"/${PCI_VIRTFN_PREFIX}*; do [ -L "$v" ] && link "$r/\${v##*/}"; done
done

for g in "$SRC"/sys/kernel/iommu_groups/*; do
  [ -d "$g" ] || continue
  p=/sys/kernel/iommu_groups/\${g##*/}
  mkdir -p "$OUT$p/devices"
  for f in ${words(GROUP_FILES)}; do copy "$p/$f"; done
  for m in "$g"/devices/*; do [ -L "$m" ] && link "$p/devices/\${m##*/}"; done
done

for u in "$SRC"/sys/class/iommu/*; do
  [ -L "$u" ] || continue
  p=/sys/class/iommu/\${u##*/}
  link "$p"
  r=$(real "$p")
  mkdir -p "$OUT$r"
  for f in ${words(UNIT_FILES)}; do copy "$r/$f"; done
  for m in "$SRC$r"/devices/*; do [ -L "$m" ] && link "$r/devices/\${m##*/}"; done
done

${CLASS_DIRS.map(
  (c) => `for e in "$SRC"${c.dir}/*; do
  [ -L "$e" ] || continue
  p=${c.dir}/\${e##*/}
  link "$p"
  r=$(real "$p")
  [ -n "$r" ] || continue
  for f in ${words(c.files)}; do copy "$r/$f"; done
  for l in ${words(c.linkDirs)}; do for m in "$SRC$r/$l"/*; do [ -L "$m" ] && link "$r/$l/\${m##*/}"; done; done
  for x in ${c.linkPrefixes.map((prefix) => `"$SRC$r"/${prefix}*`).join(' ')}; do [ -L "$x" ] && link "$r/\${x##*/}"; done
done`,
).join('\n')}

for f in ${words(HOST_FILES)}; do copy "$f"; done
for f in ${words(DEBUGFS_FILES)}; do copy "$f" ${DEBUGFS_MAX_BYTES}; done
for l in ${words(HOST_LISTINGS)}; do names "$l"; done

if [ -n "$SRC" ]; then
  rm -f "$OUT/dmesg.txt"
  if [ -f "$SRC/dmesg.txt" ]; then cat "$SRC/dmesg.txt" > "$OUT/dmesg.txt"; else unreadable /dmesg.txt; fi
elif dmesg > "$OUT/dmesg.txt" 2>/dev/null && [ -s "$OUT/dmesg.txt" ]; then :
elif journalctl -k -b --no-pager -q -o short-monotonic > "$OUT/dmesg.txt" 2>/dev/null && [ -s "$OUT/dmesg.txt" ]; then :
else rm -f "$OUT/dmesg.txt"; unreadable /dmesg.txt
fi

rm -f "$OUT/meta.json"
{
  printf '{\\n  "schemaVersion": 1,\\n  "tool": "vtd-check",\\n  "toolVersion": "%s",\\n  "captureMethod": "sh",\\n' '${toolVersion}'
  printf '  "capturedAt": "%s",\\n  "hostname": "%s",\\n  "uid": %s,\\n  "unreadable": [' \\
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null)")" "$(id -u 2>/dev/null || echo -1)"
  sep=''
  printf '%s' "$UNREADABLE" | while IFS= read -r u; do printf '%s"%s"' "$sep" "$(json_str "$u")"; sep=', '; done
  printf ']\\n}\\n'
} > "$OUT/meta.json"
echo "vtd-capture: wrote $OUT" >&2
`
}
