import logging

logger = logging.getLogger("livekit.plugins.elevenlabs_bridge")
