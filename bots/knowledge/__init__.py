"""The knowledge base (知识库): saved answers for officers, self-service answers for citizens."""

from .bot import KnowledgeBot

__all__ = ["KnowledgeBot"]
