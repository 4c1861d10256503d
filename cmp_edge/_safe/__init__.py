"""_safe"""
