import json
import random

from django import forms

from higgsweb.models import Project

SOUL_ASPECTS = ["9:16", "16:9", "4:3", "3:4", "1:1", "2:3", "3:2"]
# Soul quality × aspect ratio → width × height (PROTOCOL.md §3.7, web app table).
SOUL_SIZES = {
    "720p": {"1:1": (1152, 1152), "3:4": (1152, 1536), "4:3": (1536, 1152), "2:3": (1024, 1536),
             "3:2": (1536, 1024), "9:16": (864, 1536), "16:9": (1536, 864)},
    "1080p": {"1:1": (1536, 1536), "3:4": (1536, 2048), "4:3": (2048, 1536), "2:3": (1365, 2048),
              "3:2": (2048, 1365), "9:16": (1152, 2048), "16:9": (2048, 1152)},
}
SEED_MIN, SEED_MAX = 1, 1_000_000


class SoulForm(forms.Form):
    model_id = "higgsfield-ai/soul/standard"

    project = forms.ModelChoiceField(queryset=Project.objects.active(), empty_label=None)
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Describe the image"}),
                             max_length=2500, strip=True)
    aspect_ratio = forms.ChoiceField(choices=[(a, a) for a in SOUL_ASPECTS], initial="4:3")
    resolution = forms.ChoiceField(choices=[("720p", "720p"), ("1080p", "1080p")], initial="720p")
    batch_size = forms.TypedChoiceField(choices=[(1, "1 image"), (4, "4 images")], coerce=int, initial=1)
    seed = forms.IntegerField(
        min_value=SEED_MIN, max_value=SEED_MAX, required=False,
        help_text="1 to 1,000,000. A seed entered here is used even when “Random seed” is ticked.")
    random_seed = forms.BooleanField(required=False, initial=True, label="Random seed")
    enhance_prompt = forms.BooleanField(required=False, initial=False, label="Enhance prompt")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("random_seed") and cleaned.get("seed") is None and "seed" not in self.errors:
            self.add_error("seed", "Enter a seed, or tick “Random seed”.")
        return cleaned

    size_table_json = json.dumps(SOUL_SIZES)

    @property
    def size(self):
        data = self.data if self.is_bound else {}
        resolution = data.get("resolution") or self.fields["resolution"].initial
        aspect = data.get("aspect_ratio") or self.fields["aspect_ratio"].initial
        return SOUL_SIZES.get(resolution, {}).get(aspect)

    def payload(self):
        """The Model API body for this form's cleaned data."""
        data = self.cleaned_data
        seed = data["seed"] or random.randint(SEED_MIN, SEED_MAX)
        return {"prompt": data["prompt"], "aspect_ratio": data["aspect_ratio"], "resolution": data["resolution"],
                "batch_size": data["batch_size"], "enhance_prompt": data["enhance_prompt"], "seed": seed}
