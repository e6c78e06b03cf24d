import logging

logger = logging.getLogger("livekit.plugins._60db")
