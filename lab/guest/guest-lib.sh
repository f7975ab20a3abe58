# Helpers for scenario actions inside the guest (busybox sh; no setpci, no lspci).
# Every injected event is recorded in /lab/out/lab/injected.txt, one line:
#   <kind> <bdf> <address-hex> <bytes>   (kind: dma-read = device reads RAM, dma-write = device writes RAM)

INJECTED=/lab/out/lab/injected.txt
EDU_VENDOR=0x1234
EDU_DEVICE=0x11e8
EDU_BUFFER=0x40000   # the edu device's internal DMA buffer (docs/specs/edu.rst)

dev() { echo "/sys/bus/pci/devices/$1"; }

# cfg_read16 BDF OFFSET: a 16-bit config register, decimal.
cfg_read16() { hexdump -s "$2" -n 2 -e '1/2 "%u"' "$(dev "$1")/config"; }

# cfg_write16 BDF OFFSET VALUE: one 2-byte write (sysfs config takes aligned writes as one access).
cfg_write16() {
  lo=$(printf '%03o' $(( $3 & 0xff )))
  hi=$(printf '%03o' $(( ($3 >> 8) & 0xff )))
  printf "\\$lo\\$hi" | dd of="$(dev "$1")/config" bs=2 seek=$(( $2 / 2 )) count=1 conv=notrunc 2>/dev/null
}

# enable_bus_master BDF: memory decoding + bus mastering, as a driver's probe would.
enable_bus_master() {
  echo 1 > "$(dev "$1")/enable" 2>/dev/null
  cmd=$(cfg_read16 "$1" 4)
  cfg_write16 "$1" 4 $(( cmd | 0x6 ))
  echo "lab: $1 command register $(printf 0x%04x "$cmd") -> $(printf 0x%04x "$(cfg_read16 "$1" 4)")"
}

bar0() { read -r start _ < "$(dev "$1")/resource"; echo "$start"; }

# find_devices VENDOR DEVICE: BDFs of matching functions.
find_devices() {
  for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] && echo "${d##*/}"
  done
}

edu_wait_idle() {
  base=$(bar0 "$1"); n=0
  while [ $(( $(devmem $(( base + 0x98 )) 32) & 1 )) -ne 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
}

# edu_dma BDF read|write ADDRESS [BYTES]: the edu device DMAs to/from ADDRESS (an IOVA: with
# translation on, whatever the device's domain maps there; unmapped means a DMAR fault).
edu_dma() {
  bdf=$1; dir=$2; addr=$3; count=${4:-4}
  base=$(bar0 "$bdf")
  if [ "$dir" = read ]; then src=$addr; dst=$EDU_BUFFER; cmd=1; else src=$EDU_BUFFER; dst=$addr; cmd=3; fi
  edu_wait_idle "$bdf"
  devmem $(( base + 0x80 )) 64 "$src"
  devmem $(( base + 0x88 )) 64 "$dst"
  devmem $(( base + 0x90 )) 64 "$count"
  devmem $(( base + 0x98 )) 64 "$cmd"
  echo "dma-$dir $bdf $addr $count" >> "$INJECTED"
  echo "lab: edu $bdf dma-$dir $addr ($count bytes)"
  edu_wait_idle "$bdf"
}

# edu_check BDF: the identification register answers 0x010000ed (proves BAR access works).
edu_check() { echo "lab: edu $1 id $(devmem $(( $(bar0 "$1") )) 32)"; }

# bind_driver BDF DRIVER: rebind through driver_override (how vfio-pci binding is done by hand).
bind_driver() {
  d=$(dev "$1")
  [ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
  echo "$2" > "$d/driver_override"
  echo "$1" > /sys/bus/pci/drivers_probe
  echo "lab: $1 bound to $(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)"
  echo "bind $1 $2 -" >> "$INJECTED"
}

# enable_vfs BDF N: SR-IOV VFs without probing a driver on them.
enable_vfs() {
  d=$(dev "$1")
  echo 0 > "$d/sriov_drivers_autoprobe"
  echo "$2" > "$d/sriov_numvfs"
  echo "lab: $1 sriov_numvfs=$(cat "$d/sriov_numvfs")"
  echo "sriov $1 $2 -" >> "$INJECTED"
}
