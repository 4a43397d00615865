"""Work as one ZIP: saved originals in order, each named by its number and what it is called
(a gallery item's title, or the prompt), plus a CSV of prompts and settings when the viewer may
see them. Built in a spooled temporary file (on disk past a few megabytes) and copied file by
file, so a gallery of videos is never held in memory."""

import csv
import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from django.utils.text import slugify

SPOOL_BYTES = 8 * 1024 * 1024
NAME_CHARS = 60
CSV_COLUMNS = ["file", "item", "title", "model", "prompt", "seed", "aspect_ratio", "resolution", "created_at",
               "settings"]


@dataclass
class Entry:
    """One numbered entry of the ZIP: what it is called, its generation, and its saved files."""

    name: str
    generation: object
    outputs: list


def gallery_entries(items, with_prompts):
    """A gallery's visible items as entries, in the gallery's order."""
    return [Entry(item.label(with_prompts), item.generation, item.files) for item in items]


def generation_entries(generations):
    """A selection of generations as entries, each called by its prompt."""
    return [Entry(generation.prompt, generation, generation.saved_outputs) for generation in generations]


def file_name(number, name, output, several):
    extension = output.file.name.rsplit(".", 1)[-1] if "." in output.file.name else "bin"
    stem = f"{number:02d}"
    slug = slugify(name)[:NAME_CHARS].strip("-")
    if slug:
        stem += f"-{slug}"
    if several:
        stem += f"-{output.position + 1}"
    return f"{stem}.{extension}"


def build(entries, with_settings):
    """Write the ZIP for these entries (in order) and return it, rewound."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    rows = []
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:  # media is already compressed
        for number, entry in enumerate(entries, start=1):
            generation = entry.generation
            for output in entry.outputs:
                name = file_name(number, entry.name, output, len(entry.outputs) > 1)
                with output.file.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
                params = generation.params
                rows.append([name, number, entry.name, generation.model_id, params.get("prompt", ""),
                             params.get("seed", ""), params.get("aspect_ratio", ""), params.get("resolution", ""),
                             generation.created_at.isoformat(), json.dumps(params, sort_keys=True)])
        if with_settings:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(rows)
            archive.writestr("prompts-and-settings.csv", text.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    spool.seek(0)
    return spool
