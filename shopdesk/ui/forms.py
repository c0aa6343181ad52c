"""Forms that put each problem next to its field: `FieldForm` rows with an error line under each input,
and `field_problems` to split the server's `field: problem; field: problem` answers onto those rows."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

ERROR_STYLE = "color: #b00020;"


def field_problems(message: str) -> dict[str, str]:
    """'owner.password: too short; shop.name: empty' → {'owner.password': 'too short', 'shop.name': 'empty'}.
    A part without a field goes under ''."""
    out: dict[str, str] = {}
    for part in message.split("; "):
        key, sep, text = part.partition(": ")
        if not sep or " " in key:
            key, text = "", part
        out[key] = f"{out[key]}; {text}" if key in out else text
    return out


class FieldForm(QWidget):
    """A QFormLayout whose rows carry an error line each, keyed by the server's field names."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.errors: dict[str, QLabel] = {}
        self.inputs: dict[str, QWidget] = {}

    def add(self, key: str, label: str, widget: QWidget, hint: str = "") -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(1)
        v.addWidget(widget)
        if hint:
            small = QLabel(hint)
            small.setStyleSheet("color:#667; font-size:9pt;")
            small.setWordWrap(True)
            v.addWidget(small)
        error = QLabel("")
        error.setObjectName(f"error-{key}")
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.setVisible(False)
        v.addWidget(error)
        self.form.addRow(label, box)
        self.errors[key] = error
        self.inputs[key] = widget
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _t, k=key: self.set_error(k, ""))
        return widget

    def set_error(self, key: str, text: str) -> None:
        label = self.errors.get(key)
        if label is None:
            return
        label.setText(text)
        label.setVisible(bool(text))

    def clear_errors(self) -> None:
        for key in self.errors:
            self.set_error(key, "")

    def show_problems(self, problems: dict[str, str], prefix: str = "") -> dict[str, str]:
        """Shows the problems whose field is one of this form's (`prefix` + key); returns the rest."""
        rest = {}
        for field, text in problems.items():
            key = field[len(prefix):] if prefix and field.startswith(prefix) else (None if prefix else field)
            if key in self.errors:
                self.set_error(key, text)
            else:
                rest[field] = text
        return rest

    def first_error_widget(self) -> QWidget | None:
        for key, label in self.errors.items():
            if not label.isHidden() and label.text():
                return self.inputs[key]
        return None


def password_edit(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit
