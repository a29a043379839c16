print("omni-sim: not built yet")
