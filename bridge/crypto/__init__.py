"""End-to-end encryption: manager.py (the bot's Olm device; the design and why) and media.py
(encrypted attachments). Import the modules themselves: this package imports nothing, so the
relay's content filter can use media.py without loading Olm."""
