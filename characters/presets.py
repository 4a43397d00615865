"""The preset tables from PROTOCOL.md §3.5–3.6: what the pickers offer when the
provider's own lists cannot be fetched."""

STYLES_V1 = [
    ("1cb4b936-77bf-4f9a-9039-f3d349a4cdbe", "Realistic"),
    ("ca4e6ad3-3e93-4e03-81a0-d1722d2c128b", "DigitalCam"),
    ("6fb3e1f5-d721-4523-ac38-9902f2b2b850", "Library"),
    ("40ff999c-f576-443c-b5b3-c7d1391a666e", "Spotlight"),
    ("ff1ad8a2-94e7-4e70-a12f-e992ca9a0d36", "Quiet luxury"),
    ("b3c8075a-cb4c-42de-b8b3-7099dd2df672", "Creatures"),
    ("1fc861ed-5923-41a6-9963-b9f04681dddd", "Medieval"),
    ("a5f63c3b-70eb-4979-af5e-98c7ee1e18e8", "Giant People"),
    ("d2e8ba04-9935-4dee-8bc4-39ac789746fc", "Subway"),
]
STYLES_V2 = [
    ("3db34ab5-3439-4317-9e03-08dc30852e69", "General"),
]
MOTIONS = [
    ("d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", "General"),
    ("4e981984-1cdc-4b96-a2b1-1a7c1ecb822d", "Disintegration"),
    ("70e490b9-26b7-4572-8d9c-2ac8dcc9adc0", "Earth Zoom Out"),
    ("0ab33462-481e-4c78-8ffc-086bebd84187", "Eyes In"),
    ("cd5bfd11-5a1a-46e0-9294-b22b0b733b1e", "Face Punch"),
    ("0bdbf318-f918-4f9b-829a-74cab681d806", "Arc Right"),
    ("36e6e450-52d9-484f-bfbe-f069e06a1530", "Handheld"),
    ("e974bca9-c9eb-4cc8-9318-5676cc110f17", "Building Explosion"),
    ("aab8440c-0d65-4554-b88a-7a9a5e084b6e", "Static"),
    ("46e23a6b-1047-40f1-9cf5-33f5f55ddf2e", "Turning Metal"),
    ("6f06f47e-922e-4660-9fe9-754e4be69696", "3D Rotation"),
    ("893cb65f-c528-40aa-83d8-c5aeb2bfe59f", "Snorricam"),
]
