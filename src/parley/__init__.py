"""Parley: video meetings from a Mattermost slash command, on your own Janus SFU."""

__version__ = "0.1.0"
