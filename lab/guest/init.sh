#!/bin/busybox sh
# /init of the lab initramfs: mount, load the scenario's modules, run its actions, capture a
# snapshot with the project's own capture script, ship it out on the second serial port (or on
# the console when the kernel command line says lab.xfer=TTY: aarch64 virt has one UART), power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname vtd-lab
XFER=/dev/ttyS1
for arg in $(cat /proc/cmdline); do case $arg in lab.xfer=*) XFER=/dev/${arg#lab.xfer=} ;; esac; done
# The transfer port must not turn \n into \r\n or echo; the host strips \r anyway.
stty -F "$XFER" raw -echo 2>/dev/null

# Modules in dependency order (the host resolved `depends=`); busybox insmod takes plain .ko.
while read -r m; do
  [ -n "$m" ] || continue
  insmod "/lib/modules/$m.ko" || echo "lab: insmod $m failed"
done < /lib/modules/load-order

mkdir -p /lab/out/snap /lab/out/lab
. /lab/guest-lib.sh
echo "lab: actions start"
. /lab/actions.sh
echo "lab: actions done"
# Give the fault handler (rate-limited, interrupt driven) time to print.
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
sh /lab/capture.sh /lab/out/snap 2>/lab/out/lab/capture-stderr.txt
echo "capture started at uptime $t0, ended at $(cut -d' ' -f1 /proc/uptime)" >> /lab/out/lab/timing.txt
cat /proc/uptime > /lab/out/lab/uptime.txt
# On the console, kernel messages must not cut into the base64 lines.
[ "$XFER" = /dev/ttyS1 ] || echo 1 > /proc/sys/kernel/printk
{
  echo '=====VTD-LAB-BEGIN====='
  tar -C /lab/out -cf - snap lab | gzip -c | base64
  echo '=====VTD-LAB-END====='
} > "$XFER"
sync
echo "lab: transfer done"
poweroff -f
