"""The fleet console's idle CPU and memory: run it in a pseudo-terminal for SECONDS,
read /proc/PID/stat (utime+stime) and /proc/PID/status (VmRSS). Used by fleet_30.sh."""
import os, pty, select, sys, time
exe, secs = sys.argv[1], float(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'xterm-256color'
    os.execv(exe, ['mission', 'fleet'])
def drain(t):
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: os.read(fd, 65536)
            except OSError: return
def ticks():
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return int(f[11]) + int(f[12])
drain(4)
t0 = ticks(); drain(secs); t1 = ticks()
hz = os.sysconf('SC_CLK_TCK')
rss = [l for l in open(f'/proc/{pid}/status') if l.startswith('VmRSS')][0].split()[1]
cpu = (t1 - t0) / hz / secs * 100
print(f"fleet console idle over {secs:.0f} s: {cpu:.2f} % CPU, {int(rss) / 1024:.1f} MiB resident")
os.write(fd, b'q'); time.sleep(0.5)
