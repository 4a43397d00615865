"""A gallery as one ZIP: the saved originals in the gallery's order, plus a CSV of prompts
and settings when the viewer may see them. Built in a spooled temporary file (on disk past
a few megabytes) and copied file by file, so a gallery of videos is never held in memory."""

import csv
import io
import json
import shutil
import tempfile
import zipfile

SPOOL_BYTES = 8 * 1024 * 1024
CSV_COLUMNS = ["file", "item", "model", "prompt", "seed", "aspect_ratio", "resolution", "created_at", "settings"]


def file_name(number, output, several):
    extension = output.file.name.rsplit(".", 1)[-1] if "." in output.file.name else "bin"
    return f"{number:02d}-{output.position + 1}.{extension}" if several else f"{number:02d}.{extension}"


def build(items, with_settings):
    """Write the ZIP for these gallery items (in order) and return it, rewound."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    rows = []
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:  # media is already compressed
        for number, item in enumerate(items, start=1):
            generation = item.generation
            outputs = [output for output in generation.outputs.all() if output.is_archived]
            for output in outputs:
                name = file_name(number, output, len(outputs) > 1)
                with output.file.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
                params = generation.params
                rows.append([name, number, generation.model_id, params.get("prompt", ""), params.get("seed", ""),
                             params.get("aspect_ratio", ""), params.get("resolution", ""),
                             generation.created_at.isoformat(), json.dumps(params, sort_keys=True)])
        if with_settings:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(rows)
            archive.writestr("prompts-and-settings.csv", text.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    spool.seek(0)
    return spool
