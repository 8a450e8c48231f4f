"""The Panel UI of Downhill: one view per lesson; main.py is the servable entry."""
