"""A screen for the headless test: attaches to a Neovim as its UI and answers hit-enter prompts.

Usage: python3 screen.py SOCKET COLUMNS REPORT_FILE

Headless and without a UI, Neovim prints messages and never stops for Enter. Attached as a UI
of COLUMNS x 24 cells, it lays messages out as for a person: a message wider than the command
line, or several at once, end in "Press ENTER or type command to continue". After each flush this
screen asks Neovim its mode; at a prompt (a mode starting with "r") it appends a line to
REPORT_FILE with the rows at the bottom of the screen, then presses Enter so the test goes on.
The report is written before Enter is pressed, and Neovim runs nothing else while it waits, so
the test reads a complete report as soon as it runs again.

Only the standard library: the few msgpack types Neovim sends are decoded here.
"""

import socket
import struct
import sys

ROWS = 24


class Reader:
    """Decodes msgpack values from a socket, reading more as needed."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.position = 0

    def take(self, count):
        while len(self.buffer) - self.position < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer = self.buffer[self.position:] + chunk
            self.position = 0
        data = self.buffer[self.position:self.position + count]
        self.position += count
        return data

    def number(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self):
        byte = self.take(1)[0]
        if byte <= 0x7F:
            return byte
        if byte >= 0xE0:
            return byte - 0x100
        if 0x80 <= byte <= 0x8F:
            return self.map(byte & 0x0F)
        if 0x90 <= byte <= 0x9F:
            return self.array(byte & 0x0F)
        if 0xA0 <= byte <= 0xBF:
            return self.take(byte & 0x1F).decode("utf-8", "replace")
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if byte in simple:
            return simple[byte]
        sized = {
            0xC4: ">B", 0xC5: ">H", 0xC6: ">I",  # bin
            0xD9: ">B", 0xDA: ">H", 0xDB: ">I",  # str
        }
        if byte in sized:
            data = self.take(self.number(sized[byte]))
            return data.decode("utf-8", "replace") if byte >= 0xD9 else data
        if byte in (0xC7, 0xC8, 0xC9):  # ext: type byte, then data (Buffer, Window, Tabpage)
            length = self.number({0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}[byte])
            self.take(1)
            return self.take(length)
        if 0xD4 <= byte <= 0xD8:  # fixext
            self.take(1)
            return self.take(1 << (byte - 0xD4))
        numbers = {
            0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
        }
        if byte in numbers:
            return self.number(numbers[byte])
        if byte in (0xDC, 0xDD):
            return self.array(self.number(">H" if byte == 0xDC else ">I"))
        if byte in (0xDE, 0xDF):
            return self.map(self.number(">H" if byte == 0xDE else ">I"))
        raise ValueError("unknown msgpack byte 0x%02x" % byte)

    def array(self, count):
        return [self.value() for _ in range(count)]

    def map(self, count):
        return {self.value(): self.value() for _ in range(count)}


def pack(value):
    """msgpack for the requests sent here: ints, strings, bools, lists and dicts."""
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value <= 0x7F:
            return bytes([value])
        return b"\xd2" + struct.pack(">i", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"\xdb" + struct.pack(">I", len(data)) + data
    if isinstance(value, list):
        return b"\xdd" + struct.pack(">I", len(value)) + b"".join(pack(item) for item in value)
    if isinstance(value, dict):
        return b"\xdf" + struct.pack(">I", len(value)) + b"".join(
            pack(key) + pack(item) for key, item in value.items()
        )
    raise TypeError(type(value))


class Grid:
    """The default grid's text, enough to say what was on the screen at a prompt."""

    def __init__(self, columns):
        self.columns = columns
        self.rows = [[" "] * columns for _ in range(ROWS)]

    def resize(self, columns, rows):
        self.columns = columns
        self.rows = [[" "] * columns for _ in range(rows)]

    def line(self, row, column, cells):
        if row >= len(self.rows):
            return
        text = None
        for cell in cells:
            text = cell[0]
            repeat = cell[2] if len(cell) > 2 else 1
            for _ in range(repeat):
                if column < self.columns:
                    self.rows[row][column] = text
                column += 1

    def scroll(self, top, bottom, left, right, count):
        region = [row[left:right] for row in self.rows[top:bottom]]
        blank = [" "] * (right - left)
        if count > 0:
            region = region[count:] + [list(blank) for _ in range(count)]
        else:
            region = [list(blank) for _ in range(-count)] + region[:count]
        for offset, cells in enumerate(region):
            self.rows[top + offset][left:right] = cells

    def clear(self):
        self.resize(self.columns, len(self.rows))

    def bottom(self, count):
        texts = ["".join(row).rstrip() for row in self.rows[-count:]]
        return [text for text in texts if text]


def main():
    socket_path, columns, report_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(socket_path)
    reader = Reader(sock)
    grid = Grid(columns)
    next_id = [0]
    mode_requests = set()
    # Whether the last mode asked for was a prompt: one prompt is reported once, though it
    # may be flushed again before Enter reaches it.
    at_prompt = False

    def request(method, *params):
        next_id[0] += 1
        sock.sendall(pack([0, next_id[0], method, list(params)]))
        return next_id[0]

    request("nvim_ui_attach", columns, ROWS, {"ext_linegrid": True})
    while True:
        try:
            message = reader.value()
        except EOFError:
            return
        if message[0] == 1 and message[1] in mode_requests:
            mode_requests.discard(message[1])
            mode = message[3] or {}
            prompt = str(mode.get("mode", "")).startswith("r")
            if prompt and not at_prompt:
                with open(report_path, "a", encoding="utf-8") as report:
                    report.write("prompt (mode %s): %s\n" % (mode["mode"], " / ".join(grid.bottom(4))))
                request("nvim_input", "<CR>")
            at_prompt = prompt
        elif message[0] == 2 and message[1] == "redraw":
            flushed = False
            for event in message[2]:
                name, calls = event[0], event[1:]
                for call in calls:
                    if name == "grid_resize" and call[0] == 1:
                        grid.resize(call[1], call[2])
                    elif name == "grid_line" and call[0] == 1:
                        grid.line(call[1], call[2], call[3])
                    elif name == "grid_scroll" and call[0] == 1:
                        grid.scroll(call[1], call[2], call[3], call[4], call[5])
                    elif name == "grid_clear" and call[0] == 1:
                        grid.clear()
                    elif name == "flush":
                        flushed = True
            if flushed:
                mode_requests.add(request("nvim_get_mode"))


if __name__ == "__main__":
    main()
