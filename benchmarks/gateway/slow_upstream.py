#!/usr/bin/env python3
"""An OpenAI-format upstream that answers every request after a fixed delay.

One asyncio loop holds any number of connections open, so the gateway, not
this server, is what a "10k concurrent slow calls" run measures.
    slow_upstream.py PORT DELAY_SECONDS
"""
import asyncio
import resource
import sys

BODY = (b'{"id":"chatcmpl-slow","object":"chat.completion","created":1767225600,'
        b'"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",'
        b'"content":"Slow rain."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,'
        b'"completion_tokens":3,"total_tokens":17}}')
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


async def handle(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port, delay):
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay), "127.0.0.1", port,
                                        backlog=16384)
    print(f"listening port={port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
