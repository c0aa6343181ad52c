"""Short, distinct sounds per outcome (new job, found, unknown code, already printed, cancelled,
failed), made once as WAV files, played with Qt Multimedia when available, else the system beep."""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QApplication

log = logging.getLogger("shopdesk.ui.sounds")

# name → [(frequency Hz, milliseconds)]
TONES = {
    "new": [(660, 90), (880, 120)],
    "found": [(1046, 110)],
    "unknown": [(220, 260)],
    "printed": [(523, 90), (392, 160)],
    "cancelled": [(330, 120), (262, 200)],
    "failed": [(196, 150), (0, 60), (196, 150)],
}


def write_wav(path: Path, tones: list[tuple[int, int]], rate: int = 22050) -> None:
    frames = bytearray()
    for freq, ms in tones:
        n = int(rate * ms / 1000)
        for i in range(n):
            fade = min(1.0, i / 200, (n - i) / 200)
            value = 0.35 * fade * math.sin(2 * math.pi * freq * i / rate) if freq else 0.0
            frames += struct.pack("<h", int(value * 32767))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


class Sounds:
    def __init__(self, folder: Path, enabled: bool = True):
        self.enabled = enabled
        self.folder = Path(folder)
        self._effects = {}
        self.played: list[str] = []  # what was played, for the status bar and tests
        try:
            from PySide6.QtMultimedia import QSoundEffect

            self.folder.mkdir(parents=True, exist_ok=True)
            for name, tones in TONES.items():
                path = self.folder / f"{name}.wav"
                if not path.exists():
                    write_wav(path, tones)
                effect = QSoundEffect()
                effect.setSource(QUrl.fromLocalFile(str(path)))
                effect.setVolume(0.6)
                self._effects[name] = effect
        except Exception as exc:  # no audio stack: fall back to the beep
            log.info("sound effects unavailable (%s); using the system beep", exc)

    def play(self, name: str) -> None:
        if not self.enabled:
            return
        self.played.append(name)
        effect = self._effects.get(name)
        if effect is not None:
            effect.play()
        else:
            QApplication.beep()
