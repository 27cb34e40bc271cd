"""A second Maple process holding the knowledge base: prints a JSON line whenever the version it searches
changes, with the top passage for a query. Used to prove a running process picks up a new ingest."""

from __future__ import annotations

import asyncio
import json
import sys

import redis.asyncio as aioredis
import yaml

from bot.core.spec import MapleSpec
from integrations.knowledge.retriever import LlamaIndexRetriever
from integrations.knowledge.store import CollectionStore


async def main(config: str, prefix: str, query: str) -> None:
    spec = MapleSpec.model_validate(yaml.safe_load(open(config).read()))
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    retriever = LlamaIndexRetriever(store=CollectionStore(redis=r, prefix=prefix), spec=spec)
    seen = None
    async with retriever:
        print(json.dumps({"ready": True}), flush=True)
        while True:
            version = retriever.version("handbook")
            if version != seen:
                found = await retriever.search(query=query, collections=["handbook"], top_k=1, embed=False)
                print(json.dumps({"version": version, "top": found[0].text if found else None}), flush=True)
                seen = version
            await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
