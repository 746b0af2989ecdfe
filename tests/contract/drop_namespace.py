"""Deletes a Resourcify namespace's stream and key-value buckets from NATS,
as the Rust tests' namespace guard does: `python drop_namespace.py URL NS`."""

import asyncio
import sys

import nats


async def main(url: str, namespace: str) -> None:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        for stream in await js.streams_info():
            name = stream.config.name
            if name == f"{namespace}-events" or name.startswith(f"KV_{namespace}-"):
                await js.delete_stream(name)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
