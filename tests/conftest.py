import sys
from pathlib import Path

# Lets test modules `import reference` wherever pytest is started from.
sys.path.insert(0, str(Path(__file__).parent))
