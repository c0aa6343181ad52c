"""Scanning: job codes read from a camera, a video file or a stream (OpenCV capture, zxing-cpp/pyzbar
decoding, de-duplication), from USB scanners and typing (telling the two apart by speed), and the QR
claim tickets printed for jobs. No Qt here: the UI's scan view drives these through plain callbacks.

  decode.py      the decoder libraries behind one function, and the tuned per-frame path
  dedup.py       one code held in view is one scan; again after a pause is a new one
  capture.py     CaptureWorker: the camera/file in a worker thread, retries, releases the camera
  process.py     CaptureProcess: a CaptureWorker in a child process, handing back scaled frames and codes
  keystrokes.py  a USB scanner's burst of keys vs a person typing
  tickets.py     claim ticket / cover sheet PDFs with the job's QR code
  testdata.py    synthetic frames and videos of codes (tests, benchmark, the UI's scan tests)
  cli.py         `shopdesk scan --source PATH|INDEX [--once]`
"""
