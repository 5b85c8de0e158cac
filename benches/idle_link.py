"""Bytes an attached console writes to its terminal while nothing happens.

Usage: python3 benches/idle_link.py SECONDS COLSxROWS REPO [MISSION_BINARY]
Attach to the mission in REPO (running, e.g. waiting at a gate) through a pseudo-terminal,
let the first frame and the attach status line pass, then count what it writes. Over SSH
this is the link's idle bandwidth. See BENCHMARKS.md.
"""
import os, pty, select, sys, time
secs = float(sys.argv[1]); size = sys.argv[2].split('x')
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'xterm-256color'
    exe = sys.argv[4] if len(sys.argv) > 4 else 'target/debug/mission'
    os.execv(exe, ['mission', 'attach', '--dir', sys.argv[3]])
import fcntl, termios, struct
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', int(size[1]), int(size[0]), 0, 0))
def read_for(t):
    n = 0; end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: n += len(os.read(fd, 65536))
            except OSError: break
    return n
first = read_for(4)       # the first frame and the attach status line's life
idle = read_for(secs)
print(f"first frame {first} B; idle {idle} B over {secs:.0f} s = {idle/secs:.1f} B/s")
os.write(fd, b'q'); time.sleep(0.5)
