"""Deterministic media: the same prompt and seed always give the same bytes."""

import colorsys
import hashlib
import io
import os
import subprocess
import tempfile

from PIL import Image, ImageDraw, ImageFont


def _rng_bytes(*parts):
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _palette(prompt, seed):
    digest = _rng_bytes(prompt, seed)
    colors = []
    for i in range(4):
        hue = digest[i] / 255
        r, g, b = colorsys.hls_to_rgb(hue, 0.35 + digest[i + 4] / 255 * 0.35, 0.55 + digest[i + 8] / 255 * 0.4)
        colors.append((int(r * 255), int(g * 255), int(b * 255)))
    return digest, colors


def render_image(prompt, seed, width, height, index=0):
    """An RGB picture whose gradient and shapes are derived from prompt, seed and index."""
    digest, colors = _palette(prompt, f"{seed}:{index}")
    small_w, small_h = max(8, width // 8), max(8, height // 8)
    base = Image.linear_gradient("L").resize((small_w, small_h)).rotate(digest[12] % 360, expand=False)
    gradient = Image.merge("RGB", [base.point(lambda v, c=c: int(colors[0][c] * (1 - v / 255) + colors[1][c] * v / 255))
                                   for c in range(3)])
    draw = ImageDraw.Draw(gradient)
    for i in range(6):
        x, y = digest[13 + i] / 255 * small_w, digest[19 + i] / 255 * small_h
        radius = (8 + digest[25 + i % 6] % 40) / 100 * min(small_w, small_h)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors[2 + i % 2])
    image = gradient.resize((width, height), Image.Resampling.BICUBIC)
    label = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, height // 28))
    label.text((max(8, width // 40), max(8, height // 40)), f"{prompt[:48]} · seed {seed}", fill=(255, 255, 255),
               font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return image


def encode_image(image, fmt="PNG"):
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=88)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=70)
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def ffmpeg_exe():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def render_video(prompt, seed, width=640, height=360, seconds=3, fps=12, start_image=None, audio=None):
    """A playable H.264/AAC MP4: a slow zoom over a start image (or a generated one)."""
    width, height = width // 2 * 2, height // 2 * 2
    still = start_image.convert("RGB").resize((width, height)) if start_image else render_image(
        prompt, seed, width, height)
    with tempfile.TemporaryDirectory() as tmp:
        still_path = os.path.join(tmp, "still.png")
        still.save(still_path)
        out_path = os.path.join(tmp, "out.mp4")
        frames = int(seconds * fps)
        zoom = f"zoompan=z='min(zoom+0.0025,1.25)':d={frames}:s={width}x{height}:fps={fps}"
        cmd = [ffmpeg_exe(), "-v", "error", "-y", "-loop", "1", "-i", still_path]
        if audio:
            audio_path = os.path.join(tmp, "audio.bin")
            with open(audio_path, "wb") as fh:
                fh.write(audio)
            cmd += ["-i", audio_path]
        else:
            cmd += ["-f", "lavfi", "-i", f"sine=frequency={220 + seed % 440}:sample_rate=44100"]
        cmd += ["-vf", zoom + ",format=yuv420p", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
                "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest",
                "-movflags", "+faststart", out_path]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        with open(out_path, "rb") as fh:
            return fh.read()
