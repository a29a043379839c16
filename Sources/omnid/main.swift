print("omnid: not built yet")
