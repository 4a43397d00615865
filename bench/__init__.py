"""`make bench`: measures the app on a throwaway stack and writes bench/RESULTS.md."""
