"""Every line of the file ends in CRLF, and nothing but the timeout changed."""
import sys

data = open(sys.argv[1], "rb").read()
lines = data.split(b"\r\n")
assert lines[-1] == b"", "the file must end with CRLF"
assert all(b"\n" not in l and b"\r" not in l for l in lines), "a line lost its CRLF"
keys = [l.split(b"=")[0] for l in lines if b"=" in l]
assert keys == [b"host", b"timeout", b"retries"], keys
