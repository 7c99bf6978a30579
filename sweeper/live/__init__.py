"""What a running sweep looks like in a terminal: a snapshot of the study (`snapshot`), the board
rich's Live draws from it (`board`), one trial's card (`trial_card`) and the sparklines both use.

Everything here reads stored trials only, so `sweeper status --watch` on another machine shows
what `sweeper launch` shows beside its workers.
"""
