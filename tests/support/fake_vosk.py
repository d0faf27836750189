#!/usr/bin/python3
"""A fake Vosk server for the tests (alphacep vosk-server's WebSocket
protocol, websocket/asr_server.py; docs/services/asr-bridge.md "Vosk"):
the client sends {"config": {"sample_rate": ..., ...}} first, then binary
frames of signed 16-bit little-endian PCM, each answered with
{"partial": ""}, then {"eof" : 1}, answered with the final
{"result": [{"word", "conf", "start", "end"}...], "text": "..."}; then it
closes. Python 3 with Debian's python3-websockets.

It does not recognise speech. Its rule, deterministic: over the audio's
voiced 20 ms frames (RMS above 300, about -40 dBFS) it measures the
dominant frequency (zero crossings) and answers the text mapped to the
nearest frequency of --map (e.g. 500=оператор); fewer than 200 ms voiced
or no frequency within 15 %: "" (nothing heard). So the text depends on
the audio that really arrived: a caller plays a tone, the bridge
endpoints it and sends it, the fake "hears" the tone's word.

The URL's path picks a behaviour, one per tenant in the tests:
  /        answer as above
  /slow    the final answer only after --slow-ms (a server too slow)
  /close   close the connection at eof without answering (a crash)
Every session is logged as one JSON line to --log: port, tls, path,
sample_rate,
binary frames and bytes received, voiced ms, frequency, the text
answered, and auth ("ok" when the Authorization header was
"Bearer <--token>", "none" without one, "wrong" otherwise; the token
itself is not logged).

With --tls CERT KEY it serves wss:// (the bridge's TLS path).

usage: fake_vosk.py <host> <port> <log> <readyfile> [--map HZ=TEXT]...
                    [--token T] [--slow-ms MS] [--tls CERT KEY]
"""
import argparse
import array
import asyncio
import json
import math
import ssl
import sys

import websockets

FRAME = 160  # 20 ms at 8 kHz
VOICED_RMS = 300


def analyse(pcm, rate):
    """(voiced ms, dominant frequency of the voiced frames)."""
    s = array.array('h')
    s.frombytes(pcm[:len(pcm) // 2 * 2])
    if sys.byteorder != 'little':
        s.byteswap()
    frame = max(1, rate // 50)
    voiced = crossings = samples = 0
    for i in range(0, len(s) - frame + 1, frame):
        x = s[i:i + frame]
        if math.sqrt(sum(v * v for v in x) / frame) < VOICED_RMS:
            continue
        voiced += 1
        samples += frame
        crossings += sum(1 for a, b in zip(x, x[1:]) if (a < 0) != (b < 0))
    freq = crossings * rate / (2 * samples) if samples else 0
    return voiced * 20, freq


def pick(table, voiced_ms, freq):
    if voiced_ms < 200 or not table:
        return ''
    hz = min(table, key=lambda f: abs(f - freq))
    return table[hz] if abs(hz - freq) <= 0.15 * hz else ''


async def session(ws, path, args, table, log):
    path = path or getattr(ws, 'path', '/')
    auth = ws.request_headers.get('Authorization')
    rec = {'port': args.port, 'tls': bool(args.tls), 'path': path,
           'sample_rate': None, 'frames': 0, 'bytes': 0,
           'auth': 'none' if auth is None else
           ('ok' if auth == 'Bearer ' + (args.token or '') else 'wrong')}
    pcm = bytearray()
    try:
        first = await ws.recv()
        cfg = json.loads(first)['config'] if isinstance(first, str) else None
        rec['sample_rate'] = int(cfg['sample_rate'])
        rec['phrase_list'] = cfg.get('phrase_list')
        async for m in ws:
            if isinstance(m, bytes):
                rec['frames'] += 1
                rec['bytes'] += len(m)
                pcm += m
                await ws.send(json.dumps({'partial': ''}))
                continue
            if json.loads(m).get('eof') != 1:
                continue
            if path == '/close':
                rec['text'] = None
                break
            if path == '/slow':
                await asyncio.sleep(args.slow_ms / 1000)
            ms, freq = analyse(bytes(pcm), rec['sample_rate'])
            text = pick(table, ms, freq)
            rec.update(voiced_ms=ms, freq=round(freq), text=text)
            words = [{'word': w, 'conf': 1.0, 'start': 0.0, 'end': ms / 1000}
                     for w in text.split()]
            await ws.send(json.dumps({'result': words, 'text': text},
                                     ensure_ascii=False))
            break
    except (websockets.ConnectionClosed, ValueError, KeyError,
            TypeError) as e:
        rec['error'] = type(e).__name__
    finally:
        log.write(json.dumps(rec, ensure_ascii=False) + '\n')
        log.flush()
    await ws.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('log')
    ap.add_argument('ready')
    ap.add_argument('--map', action='append', default=[])
    ap.add_argument('--token')
    ap.add_argument('--slow-ms', type=int, default=10000)
    ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
    args = ap.parse_args()
    table = {}
    for m in args.map:
        hz, text = m.split('=', 1)
        table[float(hz)] = text
    log = open(args.log, 'a', encoding='utf-8')

    async def handler(ws, path=None):
        await session(ws, path, args, table, log)

    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*args.tls)
    async with websockets.serve(handler, args.host, args.port,
                                max_size=1 << 20, ssl=tls):
        open(args.ready, 'w').close()
        await asyncio.Future()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
